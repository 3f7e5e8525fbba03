/*
 * spinlock.c: spin_lock() and spin_unlock(), for one CPU in this
 * chapter, written so that chapter 06 changes only their inside.
 */
#include "spinlock.h"
#include "ksyms.h"
#include "panic.h"
#include "x86.h"

/**
 * ## Why a lock, with one CPU
 *
 * A lock makes a sequence of steps happen as one: while one piece of
 * code holds it, no other piece of code that takes the same lock can
 * run. With several CPUs that other code runs at the same time; with
 * one CPU it can still *interrupt*: an interrupt handler that called
 * kmalloc() in the middle of kmalloc() would find the heap half
 * changed. So the first thing spin_lock() does is turn interrupts off
 * (CLI, clear the interrupt flag IF in RFLAGS), and the last thing the
 * outermost spin_unlock() does is turn them back on, if they were on.
 * The lock also raises a *preempt count*: from chapter 08 on, the
 * scheduler must not switch a CPU to another thread while that CPU
 * holds a lock, and the count tells it so.
 *
 * Locks nest: kmalloc() holds the heap lock while it maps pages, and in
 * chapter 06 the mapper takes a page-table lock of its own. Only the
 * outermost lock may decide whether interrupts come back on, so the
 * interrupt flag is saved when the first lock is taken and restored
 * when the last one is released, with a count of the locks held in
 * between. That state belongs to the CPU, not to a lock. In this
 * chapter there is one CPU and it is a global variable; chapter 06
 * moves it into each CPU's `struct cpu`.
 *
 * ## Mistakes it catches
 *
 * - Taking a lock this CPU already holds. On a real spin lock the CPU
 *   would wait for itself forever; here it panics at once, naming the
 *   lock and both callers.
 * - Releasing a lock this CPU does not hold.
 *
 * ## The lock order
 *
 * Two CPUs that take two locks in opposite orders can each hold one and
 * wait for the other forever: a *deadlock*. The rule that prevents it
 * is an order that every path follows. This kernel's order is:
 *
 * 1. the heap lock (kernel/heap.c),
 * 2. then page-table locks (the mapper, from chapter 06),
 * 3. then the frame lock (the frame allocator, from chapter 06);
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
 *
 * ## How it waits
 *
 * `__atomic_exchange_n` compiles to XCHG, which writes 1 into the lock
 * word and returns what was there, as one step that no other CPU can
 * split (an XCHG with memory is always locked; Intel SDM vol. 2,
 * "XCHG"). If the old value was 0 the lock is ours. If not, the CPU
 * waits, reading only, until it sees 0, and tries again; PAUSE in that
 * loop tells the CPU it is spinning. With one CPU the loop never spins:
 * a taken lock is always this CPU's own, which is the panic above.
 */
#define RFLAGS_IF (1ull << 9)    /* RFLAGS.IF: interrupts enabled */

/* This CPU's lock state. One CPU in this chapter: a global. */
static struct {
	unsigned depth;    /* locks held */
	unsigned preempt;  /* preempt count */
	bool irq_on;       /* IF before the outermost lock was taken */
} lock_cpu;

/* This CPU's index. There is one until chapter 06. */
static int this_cpu_index(void)
{
	return 0;
}

static uint64_t read_rflags(void)
{
	uint64_t flags;

	__asm__ volatile("pushfq; popq %0" : "=r"(flags) : : "memory");
	return flags;
}

/* STI: interrupts on (x86.h has cli()). */
static void sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}

/* "spinlock 'heap' taken twice by f+0x1c; CPU 0 holds it since
 * g+0x2a" (or "nobody holds it"). */
static _Noreturn void lock_panic(const struct spinlock *l,
				 const char *what, uintptr_t caller)
{
	char by[64], since[64];

	if (!l->locked || l->cpu < 0)
		panic("spinlock '%s' %s by %s; nobody holds it", l->name,
		      what, ksym_format(caller, by, sizeof by));
	panic("spinlock '%s' %s by %s; CPU %d holds it since %s", l->name,
	      what, ksym_format(caller, by, sizeof by), l->cpu,
	      ksym_format(l->caller, since, sizeof since));
}

bool spin_held(const struct spinlock *l)
{
	return l->locked && l->cpu == this_cpu_index();
}

void spin_lock(struct spinlock *l)
{
	uintptr_t caller = (uintptr_t)__builtin_return_address(0);
	bool was_on = read_rflags() & RFLAGS_IF;

	cli();
	if (lock_cpu.depth++ == 0)
		lock_cpu.irq_on = was_on;
	lock_cpu.preempt++;
	if (spin_held(l))
		lock_panic(l, "taken twice", caller);
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			cpu_relax();
	l->cpu = this_cpu_index();
	l->caller = caller;
}

void spin_unlock(struct spinlock *l)
{
	if (!spin_held(l))
		lock_panic(l, "released",
			   (uintptr_t)__builtin_return_address(0));
	l->cpu = -1;
	l->caller = 0;
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	lock_cpu.preempt--;
	if (--lock_cpu.depth == 0 && lock_cpu.irq_on)
		sti();
}

unsigned spin_depth(void)
{
	return lock_cpu.depth;
}

unsigned preempt_count(void)
{
	return lock_cpu.preempt;
}
