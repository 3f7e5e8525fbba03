/*
 * shim/percpu.h: a stand-in for chapter 06's kernel/percpu.h, so that
 * wip/08-switch can compile sched_setup.c before chapter 06 is merged.
 * Not part of chapter 08: the real percpu.h replaces it, with the one
 * field chapter 08 adds (`rq`, marked below; 07 adds `ctx`).
 *
 * Only the names sched_setup.c uses, as chapter 06 spells them.
 */
#ifndef PERCPU_H
#define PERCPU_H

#include <stdbool.h>
#include <stdint.h>

struct runqueue;

struct cpu {
	struct cpu *self;          /* offset 0: what this_cpu() loads */
	unsigned index;            /* dense: 0 .. cpu_count() - 1 */
	uint32_t apic_id;
	unsigned lock_depth;
	unsigned preempt;          /* preempt count (spinlock.c) */
	unsigned irq_depth;        /* trap frames it is handling now */
	uint64_t timer_ticks;      /* local APIC timer interrupts */
	struct runqueue *rq;       /* chapter 08: its run queue
				      (scheduler.h), set by
				      sched_setup_cpu() */
} __attribute__((aligned(64)));

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;

	__asm__ volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}

unsigned cpu_count(void);
struct cpu *cpu_get(unsigned index);

#endif /* PERCPU_H */
