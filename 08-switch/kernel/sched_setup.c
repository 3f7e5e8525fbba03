/*
 * sched_setup.c: the kernel's side of the scheduler: the hooks
 * scheduler.h asks for that need no context internals (this CPU's run
 * queue, the clock, the reschedule IPI, the preempt count), the two
 * interrupt handlers (the tick, the IPI), each CPU's set-up, and the
 * status line. context.c supplies the other two hooks, the switch and
 * the report of an exit, which need struct context.
 */
#include <stddef.h>

#include "clock.h"
#include "context.h"
#include "heap.h"
#include "intr.h"
#include "kprintf.h"
#include "ksyms.h"
#include "lapic.h"
#include "panic.h"
#include "percpu.h"
#include "scheduler.h"
#include "smp.h"
#include "trap.h"
#include "x86.h"

/* The watchdog: each CPU looks at its neighbour every WATCHDOG_EVERY
 * ticks; WATCHDOG_MS without a tick there is reported: 1 s, what a
 * real machine would use. (An earlier version used 3 s, after a 1 s
 * limit had stopped a healthy 8-CPU run of chapter 06's stress test.
 * Measured again with 1 s, on this 2-core host at a load of 8 to 12:
 * five 8-CPU boots of the self-tests, that stress test among them,
 * three of the scenario sched and one of stress, twelve minutes long,
 * whose longest wait for a lock was 343 ms: no healthy run was
 * reported. A waiter that halts does so with interrupts on, behind
 * its raised task priority, so the NMI finds it "slow, not stuck".) */
#define WATCHDOG_EVERY 100
#define WATCHDOG_MS 1000

static void watchdog_look(void);

struct runqueue *sched_env_this_rq(void)
{
	return this_cpu()->rq;
}

bool sched_env_irq_enabled(void)
{
	return intr_enabled();
}

uint64_t sched_env_now(void)
{
	return clock_tsc_ns(rdtsc());
}

void sched_env_kick(struct runqueue *rq)
{
	lapic_send_fixed(cpu_get(rq->index)->apic_id, VEC_RESCHED);
}

void sched_env_tick_rate(bool idle)
{
	if (this_cpu()->tick_on)
		lapic_timer_periodic((uint32_t)(clock_lapic_hz() /
				     (idle ? SCHED_IDLE_HZ : SCHED_HZ)));
}

/* One instruction, `addl reg, %gs:offset`, so that an interrupt (and a
 * move to another CPU) cannot come between finding this CPU's count
 * and changing it. */
void sched_env_preempt_add(int delta)
{
	__asm__ volatile("addl %0, %%gs:%c1"
			 : : "r"(delta), "i"(offsetof(struct cpu, preempt))
			 : "memory", "cc");
}

/**
 * ## The tick and the two interrupts
 *
 * Every CPU's local APIC timer fires SCHED_HZ times a second on
 * VEC_LAPIC_TIMER (0xE0, lapic.h). That vector is in class 14, not 15:
 * the tick takes this CPU's run-queue lock, and class 15 is the class a
 * CPU waiting for a lock or a shootdown still lets in (lapic.c), so a
 * handler there must take no lock. The handler acknowledges the
 * interrupt first (a switch may not come back here for a while, and
 * the timer must go on), counts it, looks at its neighbour for the
 * watchdog, and runs sched_tick(). trap_dispatch() calls
 * sched_irq_exit() once its bookkeeping is done, and that is where a
 * preemption happens.
 *
 * The reschedule IPI (VEC_RESCHED, 0xF8) takes no lock: it sets
 * `need_resched` and is done, so it may stay in class 15.
 */
static void tick_interrupt(struct trap_frame *f)
{
	struct cpu *c = this_cpu();
	uint64_t t0 = rdtsc();

	(void)f;
	lapic_eoi();
	c->timer_ticks++;
	if (c->timer_ticks % WATCHDOG_EVERY == 0 || c->rq->tick_slow)
		watchdog_look();                /* every 100 ms */
	sched_tick();
	c->tick_tsc += rdtsc() - t0;
}

static void resched_interrupt(struct trap_frame *f)
{
	(void)f;
	lapic_eoi();
	sched_resched_interrupt();
}

/**
 * ## The watchdog
 *
 * A CPU that spins with interrupts off takes no ticks; everything
 * that waits for it (a shootdown, a lock it holds) waits with it, and a
 * test run would just hang until its time limit. So each CPU, every
 * WATCHDOG_EVERY ticks (every tick of its slow idle tick: 100 ms
 * either way), looks at its neighbour's tick count (CPU i watches
 * CPU i + 1, the last one watches CPU 0). If it has not moved
 * for WATCHDOG_MS while the neighbour's tick is on, the watcher sends
 * it a non-maskable interrupt (NMI): an NMI arrives even with
 * interrupts off. The NMI's handler, on the stuck CPU, checks that it
 * really is stuck: interrupts were off where it stopped, and its tick
 * count is still the one the watcher saw. Then it prints where it was
 * (the symbol of the interrupted RIP), then the report of chapter 03
 * (registers, backtrace), which stops every other CPU and ends the
 * run. A slow CPU that was
 * not stuck (a host that did not schedule its vCPU for a second) just
 * returns from the NMI.
 *
 * A CPU that waits with interrupts off for a lock or for its own TLB
 * shootdown is not stuck either: those waits end with a report of
 * their own (the lock and its holder, the CPU that never answered)
 * after SPIN_LIMIT_SECONDS, and each turn of them calls tlb_answer(),
 * which counts it (wait_turns). The watcher counts those turns as
 * progress. With 64 virtual CPUs on two busy host cores a shootdown
 * that has to wait for 63 answers took more than a second: without
 * this, the watchdog stopped a healthy run.
 */
static void watchdog_look(void)
{
	struct cpu *me = this_cpu();
	unsigned n = cpu_count();
	struct cpu *next = n > 1 ? cpu_get((me->index + 1) % n) : NULL;
	uint64_t now = clock_ns(), ticks, turns;

	if (!next || next->state != CPU_ONLINE || !next->tick_on)
		return;
	ticks = __atomic_load_n(&next->timer_ticks, __ATOMIC_RELAXED);
	turns = __atomic_load_n(&next->wait_turns, __ATOMIC_RELAXED);
	if (ticks != me->watch_ticks || turns != me->watch_turns ||
	    me->watch_since == 0) {
		me->watch_ticks = ticks;
		me->watch_turns = turns;
		me->watch_since = now;
		return;
	}
	if (now - me->watch_since < WATCHDOG_MS * 1000000ull ||
	    __atomic_load_n(&next->watchdog_seen, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&next->watchdog_seen, ticks + 1, __ATOMIC_SEQ_CST);
	lapic_send_nmi(next->apic_id);
	me->watch_since = now;
}

static void watchdog_nmi(struct trap_frame *f)
{
	struct cpu *c = this_cpu();
	uint64_t seen = __atomic_exchange_n(&c->watchdog_seen, 0,
					    __ATOMIC_SEQ_CST);
	char where[64];

	if (seen == 0) {
		trap_report(f);                 /* an NMI nobody sent */
		return;
	}
	if ((f->rflags & RFLAGS_IF) || c->timer_ticks + 1 != seen)
		return;                         /* slow, not stuck */
	ksym_format(f->rip, where, sizeof where);
	kprintf("watchdog: CPU %u took no tick for %u ms, interrupts off, "
		"at %s\n", c->index, WATCHDOG_MS, where);
	trap_report(f);                         /* registers, backtrace */
}

void sched_setup_cpu(struct cpu *c, struct sched_entity *first)
{
	struct runqueue *rq = ctx_alloc_lasting(sizeof *rq);

	if (!rq)
		panic("no memory for CPU %u's run queue", c->index);
	sched_cpu_init(rq, c->index, first);
	c->rq = rq;
	if (c->index == 0) {
		trap_set_handler(VEC_LAPIC_TIMER, tick_interrupt);
		trap_set_handler(VEC_RESCHED, resched_interrupt);
		trap_set_handler(T_NMI, watchdog_nmi);
		kprintf("sched: %u Hz tick, %u ms slices, run queue per CPU\n",
			SCHED_HZ, SCHED_SLICE_TICKS * 1000 / SCHED_HZ);
	}
}

void sched_tick_start(void)
{
	lapic_timer_periodic((uint32_t)(clock_lapic_hz() / SCHED_HZ));
	this_cpu()->rq->tick_slow = false;
	this_cpu()->tick_on = true;
}

static void tick_start_work(void *unused)
{
	(void)unused;
	cli();
	sched_tick_start();
	sti();
}

/* Each CPU's local APIC timer can be set only by that CPU, so the
 * others are handed the work (smp_run_on(), chapter 06). */
void sched_tick_start_all(void)
{
	uint64_t irq = ctx_irq_save();

	sched_tick_start();
	ctx_irq_restore(irq);
	for (unsigned i = 0; i < cpu_count(); i++) {
		struct cpu *c = cpu_get(i);

		if (c != this_cpu() && c->state == CPU_ONLINE && !c->tick_on)
			smp_run_on(c, tick_start_work, NULL);
	}
	for (unsigned i = 0; i < cpu_count(); i++)
		if (cpu_get(i) != this_cpu() &&
		    cpu_get(i)->state == CPU_ONLINE)
			smp_wait(cpu_get(i));
}

long sched_status_main(void *seconds)
{
	static struct sched_cpu_stats prev[SCHED_MAX_CPUS];
	uint64_t limit = (uint64_t)(uintptr_t)seconds;
	char line[100];

	for (uint64_t s = 1; limit == 0 || s <= limit; s++) {
		unsigned n = sched_ncpus();

		sleep_ms(1000);
		for (unsigned k = 0; k < n; k += 2) {
			sched_format_status(line, sizeof line, prev + k, k,
					    n - k < 2 ? n - k : 2,
					    1000000000ull);
			kprintf("sched %3lus %s\n", (unsigned long)s, line);
		}
	}
	return 0;
}
