/*
 * trap.c: the C side of every interrupt and exception. It decides, by
 * vector, whether the event is expected (a breakpoint, a spurious PIC
 * interrupt) and can be returned from, or is a bug to be reported.
 */
#include "trap.h"
#include "kprintf.h"
#include "ksyms.h"
#include "pic.h"

/**
 * ## Dispatching
 *
 * Every vector arrives here with the full `struct trap_frame`. Whatever
 * the dispatcher changes in the frame is what `iretq` restores, so a
 * handler that returns can resume the interrupted code exactly where it
 * stopped, or somewhere else (chapter 08 switches threads this way).
 *
 * For now three kinds of events are expected:
 *
 * - `int3` (#BP, vector 3), the breakpoint instruction: we say where it
 *   was and return. The CPU pushed the address of the *next*
 *   instruction, so execution simply continues.
 * - Spurious interrupts from the masked PIC on IRQ 7 and 15 (vectors
 *   0x27 and 0x2F, see pic.c): counted and ignored.
 * - Nothing else. Every other exception is a bug in the kernel, and
 *   `trap_report` (report.c) prints everything we know about it and
 *   stops the machine. Redox 0.3.5 treats a kernel fault like a fault in
 *   a user program and kills the current context. We do not: a kernel
 *   that has faulted can no longer trust its own state.
 *
 * Precondition: called only from isr.asm, with interrupts off (all our
 * gates are interrupt gates).
 */
static uint64_t counts[256];

void trap_dispatch(struct trap_frame *f)
{
	int irq = (int)f->vector - PIC_VECTOR_BASE;

	counts[f->vector & 0xFF]++;
	if (f->vector == T_BREAKPOINT) {
		char where[64];

		ksym_format(f->rip - 1, where, sizeof where);
		kprintf("trap: breakpoint (int3) at %s; continuing\n", where);
		return;
	}
	if (irq >= 0 && irq < 16 && pic_irq_is_spurious(irq)) {
		kprintf("trap: spurious IRQ %d ignored\n", irq);
		return;
	}
	trap_report(f);
}

/* How many times `vector` has arrived since boot. */
uint64_t trap_count(int vector)
{
	return counts[vector & 0xFF];
}
