/* kstack.h: kernel stacks with a guard page below each. */
#ifndef KSTACK_H
#define KSTACK_H

#include <stdint.h>

/* Where the stacks live: PML4 slot 508, 512 GiB of virtual space. */
#define KSTACK_AREA 0xFFFFFE0000000000ull
#define KSTACK_SLOT (64ull << 10)     /* one stack per 64 KiB of space */
#define KSTACK_MAX_PAGES 15           /* the 16th page is the guard */

struct kstack {
	uint64_t bottom;    /* lowest mapped byte */
	uint64_t top;       /* first byte above the stack: the initial RSP */
};

int kstack_alloc(unsigned pages, struct kstack *out);

#endif
