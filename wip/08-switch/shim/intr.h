/*
 * shim/intr.h: a stand-in for chapter 06's kernel/intr.h (the same
 * helpers), for compiling wip/08-switch only.
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

#endif /* INTR_H */
