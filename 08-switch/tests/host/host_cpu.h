/*
 * host_cpu.h: what a CPU is, for the scheduler's code on the host:
 * the per-CPU state chapter 06 keeps in struct cpu (lock depth,
 * preempt count, the interrupt flag), and spin_lock() and friends
 * behind the API of the kernel's spinlock.h, as a ticket lock on the
 * same fields, with C11 atomics (gcc's __atomic built-ins).
 *
 * Each test environment (thread_env.h: threads as CPUs; sim_env.h:
 * the single-threaded simulator) says which CPU the running code is on
 * by pointing host_cpu at it, and defines host_take_interrupts(),
 * which runs pending "interrupts" when the flag goes back on. Include
 * it after the kernel files.
 */
#ifndef HOST_CPU_H
#define HOST_CPU_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <time.h>

#define HOST_MAX_CPUS 64

struct host_cpu {
	unsigned index;
	unsigned lock_depth;        /* spinlocks held */
	unsigned preempt;           /* preempt count */
	bool irq_on_saved;          /* IF before the outermost lock */
	int irq_off;                /* IF clear */
	unsigned irq_depth;         /* in an "interrupt handler" */
	struct runqueue rq;
	/* thread_env.h */
	uint32_t ipi_pending;       /* atomic; a futex word */
	uint64_t next_tick;         /* ns */
	uint64_t tick_ns;           /* its period (both environments) */
	/* sim_env.h */
	uint64_t clock;             /* its local virtual time, ns */
	bool halted, kicked;
} __attribute__((aligned(64)));

static struct host_cpu host_cpus[HOST_MAX_CPUS];
static __thread struct host_cpu *host_cpu;   /* the CPU we are on */
static __thread struct host_cpu host_outsider = { .index = 99 };
static bool host_single_thread;              /* the simulator */
static long host_errors;                     /* atomic */
static char host_first_error[256];

static void host_take_interrupts(void);

/* The CPU state of this thread: an "outsider" thread (a test's main
 * thread, starting contexts) has one of its own, with no run queue. */
static struct host_cpu *hc(void)
{
	return host_cpu ? host_cpu : &host_outsider;
}

/* Record a broken invariant seen by the environment (not a panic: the
 * case checks host_errors at its end). */
static __attribute__((format(printf, 1, 2), unused))
void host_error(const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_add(&host_errors, 1, __ATOMIC_SEQ_CST) == 0) {
		va_start(ap, fmt);
		vsnprintf(host_first_error, sizeof host_first_error, fmt,
			  ap);
		va_end(ap);
	}
}

/* ---- The hooks of scheduler.h ---- */

uint64_t ctx_irq_save(void)
{
	struct host_cpu *c = hc();
	uint64_t was_on = !c->irq_off;

	c->irq_off = 1;
	return was_on;
}

void ctx_irq_restore(uint64_t saved)
{
	if (saved) {
		hc()->irq_off = 0;
		host_take_interrupts();
	}
}

bool sched_env_irq_enabled(void)
{
	return !hc()->irq_off;
}

struct runqueue *sched_env_this_rq(void)
{
	return host_cpu ? &host_cpu->rq : NULL;
}

void sched_env_preempt_add(int delta)
{
	hc()->preempt += (unsigned)delta;
}

static __attribute__((unused)) uint64_t host_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- Spinlocks: the kernel's ticket lock, between host threads ---- */

bool spin_held(const struct spinlock *l)
{
	return __atomic_load_n(&l->locked, __ATOMIC_ACQUIRE) &&
	       l->cpu == (int)hc()->index;
}

void spin_lock(struct spinlock *l)
{
	struct host_cpu *c = hc();
	bool was_on = !c->irq_off;
	uint32_t ticket;
	uint64_t spins = 0;

	c->irq_off = 1;
	if (c->lock_depth++ == 0)
		c->irq_on_saved = was_on;
	c->preempt++;
	if (spin_held(l))
		ctx_panic("spinlock '%s' taken twice by CPU %u", l->name,
			  c->index);
	ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != ticket) {
		if (host_single_thread)
			ctx_panic("spinlock '%s' held: a deadlock in the "
				  "simulator", l->name);
		__builtin_ia32_pause();
		if (++spins % 256 == 0)
			sched_yield();       /* the host's: the holder may
						be a thread it preempted */
	}
	l->locked = 1;
	l->cpu = (int)c->index;
	l->acquired++;
	if (spins) {
		l->contended++;
		l->spins += spins;
	}
}

void spin_unlock(struct spinlock *l)
{
	struct host_cpu *c = hc();

	if (!spin_held(l))
		ctx_panic("spinlock '%s' released by CPU %u, which does "
			  "not hold it", l->name, c->index);
	l->cpu = -1;
	l->locked = 0;
	__atomic_store_n(&l->serving, l->serving + 1, __ATOMIC_RELEASE);
	c->preempt--;
	if (--c->lock_depth == 0 && c->irq_on_saved) {
		c->irq_off = 0;
		host_take_interrupts();
	}
}

unsigned spin_depth(void)
{
	return hc()->lock_depth;
}

unsigned preempt_count(void)
{
	return hc()->preempt;
}

#endif /* HOST_CPU_H */
