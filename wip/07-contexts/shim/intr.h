/*
 * shim/intr.h: a stand-in for chapter 06's kernel/intr.h (the same
 * three helpers), for compiling wip/07-contexts only.
 */
#ifndef INTR_H
#define INTR_H

#include <stdbool.h>
#include <stdint.h>

#define RFLAGS_IF (1ull << 9)

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

static inline void sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}

static inline void intr_wait(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

#endif /* INTR_H */
