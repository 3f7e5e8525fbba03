/*
 * spinlock.c: spin_lock() and spin_unlock(), a ticket lock that works
 * across CPUs, with the debugging checks and counters of every lock.
 */
#include "spinlock.h"
#include "clock.h"
#include "intr.h"
#include "ksyms.h"
#include "lapic.h"
#include "panic.h"
#include "percpu.h"
#include "tlb.h"
#include "x86.h"

/**
 * ## Why a lock disables interrupts
 *
 * A lock makes a sequence of steps happen as one: while one piece of
 * code holds it, no other piece of code that takes the same lock can
 * run. With several CPUs that other code runs at the same time, on
 * another CPU; but even on one CPU it can *interrupt*: an interrupt
 * handler that called kmalloc() in the middle of kmalloc() would find
 * the heap half changed. Worse, with a spin lock it would wait for the
 * lock that the code it interrupted holds, and that code cannot run
 * again until the handler returns: the CPU waits for itself forever.
 * So the first thing spin_lock() does is turn interrupts off (CLI,
 * clear the interrupt flag IF in RFLAGS), and the last thing the
 * outermost spin_unlock() does is turn them back on, if they were on.
 * The lock also raises a *preempt count*: from chapter 08 on, the
 * scheduler must not switch a CPU to another thread while that CPU
 * holds a lock, and the count tells it so.
 *
 * Locks nest: kmalloc() holds the heap lock while it maps pages, and
 * the mapper takes the page-table lock, which takes the frame lock.
 * Only the outermost lock may decide whether interrupts come back on,
 * so the interrupt flag is saved when the first lock is taken and
 * restored when the last one is released, with a count of the locks
 * held in between. That state belongs to the CPU, not to a lock: it
 * lives in each CPU's `struct cpu` (percpu.c), which `this_cpu()`
 * finds through the GS base. (In chapter 05, with one CPU, it was a
 * global.)
 *
 * Redox 0.3.5's locks (the `spin` crate's `Mutex`) leave interrupts as
 * they are. Its kernel survives that only because it never takes a
 * lock in an interrupt handler that the interrupted code may hold, and
 * never lets the scheduler run with one held: rules that nothing
 * checks.
 *
 * ## Taking turns: a ticket lock
 *
 * Chapter 05's lock was one word, taken by whoever managed to swap a 1
 * into it first (*test-and-set*). With one CPU nobody ever waited.
 * With many, test-and-set is unfair: when the holder lets go, every
 * waiter races for the word, and the winner is whichever CPU happens
 * to see the release first, usually the one that just released it,
 * whose cache still holds the line. Linux's developers measured
 * threads on an 8-core machine that lost that race up to a million
 * times in a row. The scenario `bench_locks` measures it here.
 *
 * A *ticket lock* serves waiters in the order they came, like the
 * numbered tickets at a counter. It has two counters:
 *
 * - `next`, the next ticket to hand out. A CPU takes a ticket with one
 *   atomic *fetch-and-add* (`lock xadd`): it reads `next` and adds one
 *   to it in one step that no other CPU can split, so no two CPUs ever
 *   draw the same number;
 * - `serving`, the ticket whose turn it is. A CPU holds the lock while
 *   `serving` equals its ticket. Releasing adds one to `serving`, which
 *   hands the lock to the CPU holding the next ticket, and to nobody
 *   else.
 *
 * The lock is free when `serving == next`. Both are 32-bit and wrap
 * around; only equality is ever asked, so the wrap does no harm (four
 * billion CPUs would have to wait at once for two to hold the same
 * ticket).
 *
 * The waiting loop only reads `serving`. Each CPU keeps a copy of the
 * cache line in its own cache and spins on that copy without bothering
 * the others; the release writes the line once, and every waiter
 * fetches it once. PAUSE in that loop tells the CPU it is spinning (it
 * saves power, and on a CPU with two hyperthreads gives the other one
 * the core). A ticket lock still costs more with many waiters, because
 * every release is fetched by all of them; queue locks (MCS, Linux's
 * qspinlock) let each waiter spin on a line of its own. For the
 * handful of locks this kernel has, and the tens of CPUs it is tested
 * with, the ticket lock's dozen lines are the better trade.
 *
 * The acquire and release need ordering, too: the holder's writes to
 * the data the lock protects must be visible to the next holder before
 * it sees its turn. The release writes `serving` with *release*
 * ordering (every earlier store becomes visible first) and the waiter
 * reads it with *acquire* ordering (no later load moves before it).
 * On x86 both are ordinary moves, but they also stop the compiler from
 * moving the protected accesses out of the critical section.
 *
 * ## Waiting with interrupts off
 *
 * A CPU waiting for a lock has interrupts off, so it cannot take the
 * interrupt by which another CPU asks it to flush its TLB (tlb.c). If
 * that other CPU holds the very lock this one waits for, and waits for
 * the flush before letting go, the two wait for each other forever.
 * So the waiting loop *answers* such requests itself: each turn it
 * calls `tlb_answer()`, which does any flush asked of this CPU.
 *
 * ## Waiting without spinning
 *
 * Spinning is the right way to wait when the holder runs on another
 * core and lets go in a moment. Under QEMU every CPU is a host thread,
 * and this chapter's tests run up to 255 of them on two host cores: a
 * spinning CPU then takes a core from the CPUs that could make
 * progress, and a ticket lock suffers most, since only the CPU holding
 * the next ticket may take the lock, and it may not be running at all.
 * (Real hardware has the same trouble inside virtual machines, where
 * Linux calls it *lock-waiter preemption*.) So after SPIN_BEFORE_HALT
 * turns a waiter *halts*: it notes in its `struct cpu` which ticket of
 * which lock it waits for, and `hlt`s with only the interrupts of the
 * top priority class let in (lapic.c, "Halting until woken"). The CPU
 * that releases the lock looks, if any waiter of this lock has halted,
 * for the one whose turn it now is, and wakes it with an IPI
 * (`spin_wake()`). A TLB shootdown's interrupt is in that class too, so
 * a halted waiter still answers flushes, and a timer wakes it after
 * 100 ms in any case, so that it still notices a lock that never
 * changes hands. Halting costs an IPI and a wake-up of the host thread
 * per hand-over, some tens of microseconds; spinning first keeps the
 * common case, a short wait, free of it.
 *
 * ## Mistakes it catches
 *
 * - Taking a lock this CPU already holds. On a real spin lock the CPU
 *   would wait for itself forever; here it panics at once, naming the
 *   lock and both callers.
 * - Releasing a lock this CPU does not hold.
 * - Waiting too long: if the lock has not changed hands for
 *   SPIN_LIMIT_SECONDS (the holder is stuck, or two CPUs wait for each
 *   other), the waiter panics, naming the lock, itself and the holder's
 *   caller. Only the waiter can notice, and it measures the time
 *   *since the lock last changed hands*, so a long queue of waiters
 *   that each hold the lock briefly is no alarm.
 *
 * ## Counters
 *
 * Each lock counts how often it was taken, how often the taker had to
 * wait (the lock was *contended*), how many turns of the waiting loop
 * those waits took, and the longest wait in TSC ticks. The holder
 * updates them, after it got the lock, so they need no atomic
 * operations. Every lock in the kernel's data joins a list the first
 * time it is taken; gdb's `locks` command prints the list (locks on a
 * stack, as some tests make, stay off it: their memory is reused).
 *
 * ## The lock order
 *
 * Two CPUs that take two locks in opposite orders can each hold one and
 * wait for the other forever: a *deadlock*. The rule that prevents it
 * is an order that every path follows. This kernel's order is:
 *
 * 1. the heap lock (kernel/heap.c),
 * 2. then the page-table lock (the mapper, paging.c),
 * 3. then the frame lock (the frame allocator, frame.c);
 * 4. the console is a *leaf*: code holding any lock may print, and the
 *    console takes no other lock and never allocates. So no one may
 *    hold the console's lock across kmalloc(): the heap prints (a
 *    misuse, running out) with its own lock held.
 *
 * A path may skip a level but never go back up. It holds because of what
 * calls what: the heap calls the mapper and the frame allocator when it
 * grows or shrinks; the mapper calls the frame allocator for its
 * tables; neither the mapper nor the frame allocator ever calls the
 * heap (chapter 04 built the frame allocator so that it needs no memory
 * of its own), and nothing calls back up into the heap. So no cycle can
 * form. Redox 0.3.5 kept its free frame list in a heap-grown array and
 * grew it while holding the frame lock: frame lock, then heap, then
 * (to map the heap's new memory) frame lock again, on the same CPU.
 */
static struct spinlock *lock_list;          /* spin_locks() */
extern char __data_start[], __bss_end[];   /* linker.ld */

/* This CPU's index (percpu.h). */
static int this_cpu_index(void)
{
	return (int)this_cpu()->index;
}

/* "spinlock 'heap' taken twice by f+0x1c; CPU 0 holds it since
 * g+0x2a" (or "nobody holds it"). */
static _Noreturn void lock_panic(const struct spinlock *l,
				 const char *what, uintptr_t caller)
{
	char by[64], since[64];
	int cpu = l->cpu;

	if (!l->locked || cpu < 0)
		panic("spinlock '%s' %s by %s; nobody holds it", l->name,
		      what, ksym_format(caller, by, sizeof by));
	panic("spinlock '%s' %s by %s; CPU %d holds it since %s", l->name,
	      what, ksym_format(caller, by, sizeof by), cpu,
	      ksym_format(l->caller, since, sizeof since));
}

bool spin_held(const struct spinlock *l)
{
	return l->locked && l->cpu == this_cpu_index();
}

/* SPIN_LIMIT_SECONDS in TSC ticks; before the clock is calibrated,
 * for a TSC of at most 4 GHz (so the limit is never shorter). */
static uint64_t spin_limit_ticks(void)
{
	uint64_t hz = clock_ready() ? clock_tsc_hz() : 4000000000ull;

	return hz * SPIN_LIMIT_SECONDS;
}

struct wait {
	uint64_t spins;       /* turns of the loop */
	uint64_t ticks;       /* TSC ticks from the ticket to the turn */
	uint64_t halts;       /* times it halted */
};

/* Halt until woken (lapic.c), unless the turn came meanwhile: first say
 * which ticket of which lock this CPU waits for, so that the releaser
 * can find it. The two sides each write, then read what the other
 * wrote (`halted` here, `serving` there), with sequentially consistent
 * atomics (on x86 a locked instruction or MFENCE after the write): at
 * least one of them sees the other's write, so either this CPU does
 * not halt, or the releaser wakes it. */
static void spin_halt(struct spinlock *l, uint32_t ticket, struct wait *w)
{
	struct cpu *c = this_cpu();

	c->halt_ticket = ticket;
	__atomic_store_n(&c->halt_lock, l, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&l->halted, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&l->serving, __ATOMIC_SEQ_CST) != ticket) {
		lapic_wait_kick();
		w->halts++;
	}
	__atomic_fetch_sub(&l->halted, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&c->halt_lock, NULL, __ATOMIC_RELAXED);
}

/* The releaser's side: wake the CPU whose turn it now is, if it is
 * halted. Looked for only when some waiter of this lock is halted. */
static void spin_wake(struct spinlock *l, uint32_t ticket)
{
	for (unsigned i = 0; i < cpu_count(); i++) {
		struct cpu *c = cpu_get(i);

		if (__atomic_load_n(&c->halt_lock, __ATOMIC_ACQUIRE) == l &&
		    c->halt_ticket == ticket) {
			lapic_send_fixed(c->apic_id, VEC_WAKE);
			return;
		}
	}
}

/* Wait until `serving` reaches ticket, answering TLB flushes; after
 * SPIN_BEFORE_HALT turns halt each time, on a CPU that can be woken;
 * every 256 turns and after each halt, check that the lock still
 * changes hands. */
static void spin_wait(struct spinlock *l, uint32_t ticket,
		      uintptr_t caller, struct wait *w)
{
	uint64_t start = rdtsc(), moved = start, limit = 0;
	uint32_t seen = l->serving;
	bool may_halt = this_cpu()->state == CPU_ONLINE && lapic_ready();

	while (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != ticket) {
		tlb_answer();
		cpu_relax();
		++w->spins;
		if (may_halt && w->spins >= SPIN_BEFORE_HALT)
			spin_halt(l, ticket, w);
		else if (w->spins % 256 != 0)
			continue;
		if (l->serving != seen) {
			seen = l->serving;
			moved = rdtsc();
		} else if (rdtsc() - moved > (limit ? limit
					      : (limit = spin_limit_ticks()))) {
			char by[64], since[64];

			panic("spinlock '%s': CPU %d waited %d s for it at %s "
			      "and it never changed hands (held by CPU %d "
			      "since %s)", l->name, this_cpu_index(),
			      SPIN_LIMIT_SECONDS,
			      ksym_format(caller, by, sizeof by), l->cpu,
			      ksym_format(l->caller, since, sizeof since));
		}
	}
	w->ticks = rdtsc() - start;
}

/* Put l on the list of locks, once: lock-free, since two CPUs may add
 * two different locks at the same moment. Precondition: holds l. */
static void list_add(struct spinlock *l)
{
	struct spinlock *head;

	l->listed = true;
	if ((char *)l < __data_start || (char *)l >= __bss_end)
		return;                      /* not in the kernel's data */
	head = __atomic_load_n(&lock_list, __ATOMIC_RELAXED);
	do
		l->list_next = head;
	while (!__atomic_compare_exchange_n(&lock_list, &head, l, true,
					    __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED));
}

/**
 * ## Taking and releasing, step by step
 *
 * `spin_lock(l)`:
 *
 * 1. Note whether interrupts are on, turn them off; on this CPU's first
 *    lock remember the note; raise the preempt count.
 * 2. Panic if this CPU holds l already.
 * 3. Draw a ticket: `lock xadd` on `next`.
 * 4. Wait until `serving` is the ticket (answering TLB flushes, halting
 *    after a while, and checking for a lock that never changes hands).
 * 5. Record the holder and its caller, count.
 *
 * `spin_unlock(l)`: panic unless this CPU holds l; clear the holder;
 * add one to `serving` (the next waiter's turn), and wake that waiter
 * if it has halted; lower the preempt count, and if this was the
 * outermost lock, turn interrupts back on if step 1 found them on.
 */
void spin_lock(struct spinlock *l)
{
	uintptr_t caller = (uintptr_t)__builtin_return_address(0);
	bool was_on = read_rflags() & RFLAGS_IF;
	struct wait w = { 0, 0, 0 };
	struct cpu *c;
	uint32_t ticket;
	bool waited;

	cli();                                                   /* 1. */
	c = this_cpu();
	if (c->lock_depth++ == 0)
		c->irq_on = was_on;
	c->preempt++;
	if (spin_held(l))                                        /* 2. */
		lock_panic(l, "taken twice", caller);
	ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED); /* 3. */
	waited = __atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != ticket;
	if (waited)
		spin_wait(l, ticket, caller, &w);                /* 4. */
	l->locked = 1;                                           /* 5. */
	l->cpu = (int)c->index;
	l->caller = caller;
	l->acquired++;
	if (waited) {
		l->contended++;
		l->spins += w.spins;
		l->halts += w.halts;
		if (w.ticks > l->longest)
			l->longest = w.ticks;
	}
	if (!l->listed)
		list_add(l);
}

void spin_unlock(struct spinlock *l)
{
	struct cpu *c = this_cpu();
	uint32_t next;

	if (!spin_held(l))
		lock_panic(l, "released",
			   (uintptr_t)__builtin_return_address(0));
	l->cpu = -1;
	l->caller = 0;
	l->locked = 0;
	next = l->serving + 1;
	__atomic_store_n(&l->serving, next, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&l->halted, __ATOMIC_SEQ_CST) != 0)
		spin_wake(l, next);
	c->preempt--;
	if (--c->lock_depth == 0 && c->irq_on)
		sti();
}

unsigned spin_depth(void)
{
	return this_cpu()->lock_depth;
}

unsigned preempt_count(void)
{
	return this_cpu()->preempt;
}

struct spinlock *spin_locks(void)
{
	return __atomic_load_n(&lock_list, __ATOMIC_ACQUIRE);
}
