/*
 * frame.c: the frame allocator of chapter 02, a bump allocator over the
 * sanitised memory map with a stack of freed frames on top. Chapter 04
 * replaces it with one that frees and merges runs of any size.
 */
#include "frame.h"
#include "bootinfo.h"

/**
 * ## A first frame allocator
 *
 * Physical memory is handed out in *frames*, 4 KiB pieces aligned to
 * 4 KiB, the unit a page-table entry points at. The page tables built
 * in this chapter need frames for themselves, so the allocator comes
 * first.
 *
 * It *bumps*: each usable range of the sanitised memory map has a
 * pointer to its next never-used frame, which only moves up. A request
 * for `count` contiguous frames is served by the lowest range that still
 * has `count` frames left, so a request never straddles the gap between
 * two ranges, and a large request that fits nowhere takes nothing from
 * anyone: it returns -1, and the caller decides what to do. With at most
 * a few dozen ranges, looking through them is cheap.
 *
 * A bump allocator cannot take frames back, but unmapping gives page
 * tables back. So a freed frame goes on a *free stack*. The stack costs
 * no memory: each free frame stores the address of the next one in its
 * own first 8 bytes, written through the direct map. `frame_alloc(1)`
 * pops from it before bumping. Runs of more than one frame are always
 * bumped. That is crude, and chapter 04 replaces the whole file.
 *
 * ### What Redox 0.3.5 gets wrong here, and what we do instead
 *
 * Redox's bump allocator has four bugs:
 *
 * - A request that runs past the end of an area makes it choose the same
 *   area again and recurse without bound.
 * - It tests only the first and last frame of a request against the
 *   kernel image.
 * - Its kernel range is one frame too long, and starts at 0, which
 *   writes off all low memory.
 * - Its free and used counts walk every frame of RAM.
 *
 * Here the sanitised map has already carved the kernel, the boot data
 * and the boot stack out of the usable ranges (chapter 01), so the
 * allocator needs no kernel test at all. Memory below 1 MiB is skipped
 * on purpose: it is small, full of firmware leftovers, and chapter 06
 * needs a page there to start the other CPUs. Both counts are kept up
 * to date as we go, so reading them costs O(1).
 */
#define MAX_RANGES E820_MAX_OUT    /* more than the map can hold */
#define LOW_MEMORY_END 0x100000

static struct {
	uint64_t next, end;     /* next never-used frame; end of range */
} ranges[MAX_RANGES];
static int nranges;
static uint64_t free_stack;     /* physical address of the top, or 0 */
static uint64_t total, used;    /* frames managed, frames handed out */

/* Collect the usable ranges at or above 1 MiB, in address order (the
 * sanitised map is sorted). Call once, on the boot CPU, before any
 * other frame_* function. */
void frame_init(const struct mem_range *map, int n)
{
	for (int i = 0; i < n && nranges < MAX_RANGES; i++) {
		uint64_t base = map[i].base, end = map[i].end;

		if (map[i].type != E820_USABLE || end <= LOW_MEMORY_END)
			continue;
		if (base < LOW_MEMORY_END)
			base = LOW_MEMORY_END;
		ranges[nranges].next = base;
		ranges[nranges].end = end;
		total += (end - base) / FRAME_SIZE;
		nranges++;
	}
}

/* Take `count` contiguous frames; store the first's address in *phys.
 * Returns 0, or -1 if no range has `count` frames left. */
int frame_alloc(uint64_t count, uint64_t *phys)
{
	if (count == 0)
		return -1;
	if (count == 1 && free_stack) {
		*phys = free_stack;
		free_stack = *(uint64_t *)pt_phys_to_virt(free_stack);
		used++;
		return 0;
	}
	for (int i = 0; i < nranges; i++) {
		uint64_t room = (ranges[i].end - ranges[i].next) / FRAME_SIZE;

		if (count <= room) {
			*phys = ranges[i].next;
			ranges[i].next += count * FRAME_SIZE;
			used += count;
			return 0;
		}
	}
	return -1;
}

/* Give frames back: each goes on the free stack. */
void frame_free(uint64_t phys, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++, phys += FRAME_SIZE) {
		*(uint64_t *)pt_phys_to_virt(phys) = free_stack;
		free_stack = phys;
		used--;
	}
}

uint64_t frame_free_count(void)
{
	return total - used;
}

uint64_t frame_used_count(void)
{
	return used;
}
