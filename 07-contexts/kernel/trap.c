/*
 * trap.c: the C side of every interrupt and exception. It decides, by
 * vector, whether the event is expected (a breakpoint, a spurious PIC
 * interrupt) and can be returned from, or is a bug to be reported.
 */
#include "trap.h"
#include "kprintf.h"
#include "ksyms.h"
#include "lapic.h"
#include "panic.h"
#include "percpu.h"
#include "pic.h"

/**
 * ## Dispatching
 *
 * Every vector arrives here with the full `struct trap_frame`. Whatever
 * the dispatcher changes in the frame is what `iretq` restores, so a
 * handler that returns can resume the interrupted code exactly where it
 * stopped, or somewhere else (chapter 08 switches threads this way).
 *
 * Before anything else, an NMI while another CPU panics stops this CPU
 * (panic.c). Then `percpu_trap_enter` checks that the GS base is
 * this CPU's `struct cpu` (percpu.c), and counts the trap as one more
 * level of nesting; every way out of the dispatcher undoes that.
 *
 * Four kinds of events are expected:
 *
 * - `int3` (#BP, vector 3), the breakpoint instruction: we say where it
 *   was and return. The CPU pushed the address of the *next*
 *   instruction, so execution simply continues.
 * - Spurious interrupts from the masked PIC on IRQ 7 and 15 (vectors
 *   0x27 and 0x2F, see pic.c): counted and ignored.
 * - A vector with a *handler*, installed with `trap_set_handler`: from
 *   chapter 06 on, the local APIC's timer, error and spurious
 *   interrupts (lapic.c), and whatever the tests install.
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
static trap_handler handlers[256];

trap_handler trap_set_handler(int vector, trap_handler h)
{
	trap_handler old = handlers[vector & 0xFF];

	handlers[vector & 0xFF] = h;
	return old;
}

void trap_dispatch(struct trap_frame *f)
{
	int irq = (int)f->vector - PIC_VECTOR_BASE;

	if (f->vector == T_NMI && panic_in_progress())
		panic_stop_this_cpu();         /* another CPU panics */
	percpu_trap_enter(f->vector);
	__atomic_fetch_add(&counts[f->vector & 0xFF], 1, __ATOMIC_RELAXED);
	if (handlers[f->vector & 0xFF]) {
		handlers[f->vector & 0xFF](f);
	} else if (f->vector == T_BREAKPOINT) {
		char where[64];

		ksym_format(f->rip - 1, where, sizeof where);
		kprintf("trap: breakpoint (int3) at %s; continuing\n", where);
	} else if (irq >= 0 && irq < 16 && pic_irq_is_spurious(irq)) {
		kprintf("trap: spurious IRQ %d ignored\n", irq);
	} else {
		trap_report(f);
	}
	percpu_trap_exit();
}

/* How many times `vector` has arrived since boot, on every CPU
 * together. Several CPUs take interrupts at once, so each count is
 * raised with an atomic add (`lock add`): an ordinary `++` would lose
 * updates. */
uint64_t trap_count(int vector)
{
	return __atomic_load_n(&counts[vector & 0xFF], __ATOMIC_RELAXED);
}

/* A name for every vector above the exceptions, for the report. */
const char *trap_vector_name(uint64_t vector)
{
	if (vector >= PIC_VECTOR_BASE && vector < PIC_VECTOR_BASE + 16)
		return "8259 PIC line (IRQ = vector - 0x20)";
	switch (vector) {
	case VEC_LAPIC_TIMER: return "local APIC timer";
	case VEC_WAKE:        return "wake-up IPI";
	case VEC_CTX_WAKE:    return "context wake-up IPI";
	case VEC_IPI_TEST:    return "test IPI";
	case VEC_TLB_SHOOTDOWN: return "TLB shootdown IPI";
	case VEC_LAPIC_ERROR: return "local APIC error";
	case VEC_SPURIOUS:    return "local APIC spurious";
	default:              return "unexpected interrupt";
	}
}
