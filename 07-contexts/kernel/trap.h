/* trap.h: what an interrupt handler sees, and who handles what. */
#ifndef TRAP_H
#define TRAP_H

#include <stdint.h>

/* The stack as isr.asm leaves it: registers, then vector and error
 * code, then what the CPU pushed. Keep in step with isr_common. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Exception vectors (Intel SDM vol. 3, table "Protected-Mode Exceptions
 * and Interrupts"). */
#define T_DIVIDE 0        /* #DE */
#define T_NMI 2
#define T_BREAKPOINT 3    /* #BP */
#define T_DOUBLE_FAULT 8  /* #DF */
#define T_GP 13           /* #GP */
#define T_PAGE_FAULT 14   /* #PF */
#define T_MACHINE_CHECK 18

void trap_dispatch(struct trap_frame *f);
uint64_t trap_count(int vector);

/* A handler for one vector: it gets the frame, returns when the event
 * is dealt with (sending the local APIC's EOI itself, if it needs
 * one). NULL removes it. Vectors without a handler are reported.
 * Returns the handler it replaces. */
typedef void (*trap_handler)(struct trap_frame *f);
trap_handler trap_set_handler(int vector, trap_handler h);

/* "#PF page fault", "PIC IRQ 7", "local APIC timer", ... */
const char *trap_vector_name(uint64_t vector);

/* report.c: the full report for an exception nobody handles. */
_Noreturn void trap_report(const struct trap_frame *f);

#endif
