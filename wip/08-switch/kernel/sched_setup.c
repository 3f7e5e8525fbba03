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
#include "heap.h"
#include "intr.h"
#include "kprintf.h"
#include "lapic.h"
#include "panic.h"
#include "percpu.h"
#include "scheduler.h"
#include "trap.h"
#include "x86.h"

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

/* One instruction, `addl reg, %gs:offset`, so that an interrupt (and a
 * move to another CPU) cannot come between finding this CPU's count
 * and changing it. */
void sched_env_preempt_add(int delta)
{
	__asm__ volatile("addl %0, %%gs:%c1"
			 : : "r"(delta), "i"(offsetof(struct cpu, preempt))
			 : "memory", "cc");
}

/* The local APIC timer's vector: end of interrupt first (a switch may
 * not come back here for a while, and the timer must go on), then the
 * tick. trap_dispatch() calls sched_irq_exit() once its bookkeeping is
 * done, and that is where a preemption happens. */
static void tick_interrupt(struct trap_frame *f)
{
	(void)f;
	lapic_eoi();
	this_cpu()->timer_ticks++;
	sched_tick();
}

static void resched_interrupt(struct trap_frame *f)
{
	(void)f;
	lapic_eoi();
	sched_resched_interrupt();
}

void sched_setup_cpu(struct sched_entity *first)
{
	struct cpu *c = this_cpu();
	struct runqueue *rq = kmalloc_aligned(sizeof *rq, 64);

	if (!rq)
		panic("no memory for CPU %u's run queue", c->index);
	sched_cpu_init(rq, c->index, first);
	c->rq = rq;
	if (c->index == 0) {
		trap_set_handler(VEC_LAPIC_TIMER, tick_interrupt);
		trap_set_handler(VEC_RESCHED, resched_interrupt);
		kprintf("sched: %u Hz tick, %u ms slices, run queue per CPU\n",
			SCHED_HZ, SCHED_SLICE_TICKS * 1000 / SCHED_HZ);
	}
	lapic_timer_periodic((uint32_t)(clock_lapic_hz() / SCHED_HZ));
}

long sched_status_main(void *seconds)
{
	static struct sched_cpu_stats prev[SCHED_MAX_CPUS];
	uint64_t limit = (uint64_t)(uintptr_t)seconds;
	char line[100];

	for (uint64_t s = 1; limit == 0 || s <= limit; s++) {
		unsigned n = sched_ncpus();

		sleep_ms(1000);
		for (unsigned k = 0; k < n; k += 3) {
			sched_format_status(line, sizeof line, prev + k, k,
					    n - k < 3 ? n - k : 3,
					    1000000000ull);
			kprintf("sched %3lus %s\n", (unsigned long)s, line);
		}
	}
	return 0;
}
