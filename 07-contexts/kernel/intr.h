/*
 * intr.h: turning interrupts on and off, and waiting for one. The
 * interrupt flag (IF, bit 9 of RFLAGS) decides whether this CPU takes
 * maskable interrupts; NMIs come regardless.
 */
#ifndef INTR_H
#define INTR_H

#include <stdbool.h>
#include <stdint.h>

#define RFLAGS_IF (1ull << 9)    /* RFLAGS.IF: interrupts enabled */

static inline uint64_t read_rflags(void)
{
	uint64_t flags;

	__asm__ volatile("pushfq; popq %0" : "=r"(flags) : : "memory");
	return flags;
}

static inline bool intr_enabled(void)
{
	return read_rflags() & RFLAGS_IF;
}

/* STI: interrupts on (x86.h has cli()). */
static inline void sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}

/* Interrupts on, then HLT until one arrives; interrupts stay on. The
 * pair is one step: STI takes effect only after the next instruction,
 * so no interrupt can slip in between and leave HLT waiting for the
 * one after it. */
static inline void intr_wait(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

#endif /* INTR_H */
