/* kstack.h: kernel stacks with a guard page below each. */
#ifndef KSTACK_H
#define KSTACK_H

#include <stddef.h>
#include <stdint.h>

/* Where the stacks live: PML4 slot 508, 512 GiB of virtual space. */
#define KSTACK_AREA 0xFFFFFE0000000000ull
#define KSTACK_AREA_END (KSTACK_AREA + (512ull << 30))
#define KSTACK_SLOT (64ull << 10)     /* one stack per 64 KiB of space */
#define KSTACK_MAX_PAGES 15           /* the 16th page is the guard */

struct kstack {
	uint64_t bottom;    /* lowest mapped byte */
	uint64_t top;       /* first byte above the stack: the initial RSP */
};

/* A fresh stack of `pages` pages; name says whose it is, for reports
 * (NULL: a thread's stack, which context.c describes). Returns 0, or
 * -1 if frames, page tables or slots run out. */
int kstack_alloc(unsigned pages, const char *name, struct kstack *out);

/* Give back a stack kstack_alloc() made: its pages unmapped, every
 * CPU's TLB rid of them, its frames freed, its slot free for the next
 * stack. Nobody may run on it or point into it any more. Interrupts
 * on: the shootdown waits for the other CPUs. */
void kstack_free(const struct kstack *ks);

/* Slots in use now: every CPU's stacks and every thread's (the tests
 * compare it with a baseline). */
uint32_t kstack_slots_used(void);

/* What va is, in words, if it lies in the stack area: "in the boot
 * CPU's kernel stack", "the guard page below IST1 (#DF)'s stack", ...
 * Returns buf, or NULL if va is not in the area. */
const char *kstack_describe(uint64_t va, char *buf, size_t len);

/* kstack_switch.asm: load RSP with top and call fn, which must never
 * return. RBP is 0 there: the backtrace ends at fn. */
_Noreturn void kstack_switch(uint64_t top, void (*fn)(void));

#endif
