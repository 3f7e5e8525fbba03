/*
 * test_bump.c: host tests of chapter 02's frame allocator (frame.c),
 * over a simulated physical memory of 8 MiB.
 *
 * Build (the chapter Makefile does this for `make test`):
 *     gcc <host flags> -I kernel -o build/host/test_bump \
 *         tests/host/test_bump.c
 */
#include "check.h"
#include "../../kernel/frame.c"
#include <stdlib.h>
#include <string.h>

#define RAM_BYTES (8u << 20)
static unsigned char *ram;

void *pt_phys_to_virt(uint64_t phys)
{
	if (phys >= RAM_BYTES) {
		fprintf(stderr, "phys %llx outside simulated RAM\n",
			(unsigned long long)phys);
		abort();
	}
	return ram + phys;
}

/* Fresh allocator state over the given map. */
static void reset(const struct mem_range *map, int n)
{
	memset(ranges, 0, sizeof ranges);
	nranges = 0;
	free_stack = 0;
	total = used = 0;
	frame_init(map, n);
}

/* Low memory, a 3-frame range, a hole, then 2 MiB. */
static const struct mem_range map[] = {
	{ 0x0, 0x9F000, E820_USABLE },
	{ 0x100000, 0x103000, E820_KERNEL },
	{ 0x103000, 0x106000, E820_USABLE },
	{ 0x106000, 0x200000, E820_RESERVED },
	{ 0x200000, 0x400000, E820_USABLE },
};

static void skips_low_memory_and_other_types(void)
{
	uint64_t pa;

	reset(map, 5);
	CHECK(frame_free_count() == 3 + 512);
	CHECK(frame_alloc(1, &pa) == 0 && pa == 0x103000);
}

static void never_straddles_a_gap(void)
{
	uint64_t pa;

	reset(map, 5);
	CHECK(frame_alloc(2, &pa) == 0 && pa == 0x103000);
	/* one frame left in the small range; 2 must come from the next */
	CHECK(frame_alloc(2, &pa) == 0 && pa == 0x200000);
	CHECK(frame_alloc(1, &pa) == 0 && pa == 0x105000);
	CHECK(frame_used_count() == 5);
}

static void too_large_takes_nothing(void)
{
	uint64_t pa;

	reset(map, 5);
	CHECK(frame_alloc(513, &pa) == -1);
	CHECK(frame_alloc(0, &pa) == -1);
	CHECK(frame_used_count() == 0);
	CHECK(frame_alloc(512, &pa) == 0 && pa == 0x200000);
}

static void exhaustion_then_free_stack(void)
{
	uint64_t pa, got[515];
	int n = 0;

	reset(map, 5);
	while (frame_alloc(1, &pa) == 0)
		got[n++] = pa;
	CHECK(n == 515 && frame_free_count() == 0);
	frame_free(got[10], 1);
	frame_free(got[20], 1);
	CHECK(frame_free_count() == 2);
	CHECK(frame_alloc(1, &pa) == 0 && pa == got[20]);   /* last in */
	CHECK(frame_alloc(1, &pa) == 0 && pa == got[10]);
	CHECK(frame_alloc(1, &pa) == -1);
}

static void multi_frame_free(void)
{
	uint64_t pa, a;

	reset(map, 5);
	CHECK(frame_alloc(4, &a) == 0);
	frame_free(a, 4);
	CHECK(frame_used_count() == 0);
	for (int i = 0; i < 4; i++)
		CHECK(frame_alloc(1, &pa) == 0 && pa >= a && pa < a + 4 * 4096);
}

int main(void)
{
	ram = aligned_alloc(4096, RAM_BYTES);
	RUN(skips_low_memory_and_other_types);
	RUN(never_straddles_a_gap);
	RUN(too_large_takes_nothing);
	RUN(exhaustion_then_free_stack);
	RUN(multi_frame_free);
	free(ram);
	return check_done("test_bump");
}
