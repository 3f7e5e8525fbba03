/*
 * shim/percpu.h: a stand-in for chapter 06's kernel/percpu.h, so that
 * wip/07-contexts can compile its kernel files before chapter 06 is
 * finished. Not part of chapter 07: the real percpu.h replaces it,
 * with the one field chapter 07 adds (`ctx`, marked below).
 *
 * Only the names chapter 07 uses, as chapter 06 spells them.
 */
#ifndef PERCPU_H
#define PERCPU_H

#include "gdt.h"
#include "kstack.h"
#include <stdbool.h>
#include <stdint.h>

struct ctx_cpu;

struct cpu {
	struct cpu *self;          /* offset 0: what this_cpu() loads */
	unsigned index;            /* dense: 0 .. cpu_count() - 1 */
	uint32_t apic_id;
	struct cpu_tables *tables; /* its GDT, TSS and IST stacks */
	struct kstack kstack;      /* its kernel stack */
	unsigned lock_depth;
	unsigned preempt;
	bool irq_on;
	struct ctx_cpu *ctx;       /* chapter 07: its contexts (context.h),
				      set by context_setup_cpu() */
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
