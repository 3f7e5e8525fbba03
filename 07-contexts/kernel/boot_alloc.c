/*
 * boot_alloc.c: a bump allocator over whole frames, for what the
 * kernel sets up once and never frees.
 */
#include "boot_alloc.h"
#include "bootinfo.h"
#include "frame.h"
#include "panic.h"
#include "string.h"

/**
 * ## Memory kept for good
 *
 * Some of what this chapter builds lives as long as the machine runs
 * and is made exactly once, on the boot CPU, before any other CPU
 * exists: the list of ACPI tables, the MADT's arrays, the CPUs'
 * `struct cpu`. Its size is only known at boot (the MADT says how many
 * CPUs there are), so it cannot be a static array, but it needs none
 * of what the heap offers: it is never freed, never resized, and needs
 * no debugging checks. So it comes from whole frames, handed out front
 * to back, the simplest allocator there is (Linux's early "memblock"
 * allocations are the same idea). It also keeps the heap empty after
 * boot, which the heap's own tests and its benchmark rely on: the heap
 * can switch its debugging checks on and off only while it holds no
 * object.
 *
 * The frames are reached through the direct map, and taken 16 KiB at
 * a time (more for a larger request). A request that does not fit in
 * what is left gets a fresh run, and the rest of the old one is lost:
 * a few KiB in all. The runs are listed, so that the frame allocator's
 * self-test can tell these frames from lost ones.
 */
#define CHUNK_PAGES 4
#define MAX_RUNS 32

static uint8_t *next, *end;
static struct { uint64_t phys, count; } runs[MAX_RUNS];
static unsigned nruns;

void *boot_alloc(size_t size, size_t align)
{
	uint64_t pages, phys;
	uint8_t *p;

	if (align == 0 || (align & (align - 1)) || align > FRAME_SIZE)
		panic("boot_alloc: alignment %zu", align);
	p = (uint8_t *)(((uintptr_t)next + align - 1) & ~(align - 1));
	if (next == NULL || size > (size_t)(end - p)) {
		pages = (size + FRAME_SIZE - 1) / FRAME_SIZE;
		if (pages < CHUNK_PAGES)
			pages = CHUNK_PAGES;
		if (nruns == MAX_RUNS || frame_alloc(pages, &phys) != 0)
			panic("boot_alloc: no %lu frames for %zu bytes",
			      (unsigned long)pages, size);
		runs[nruns].phys = phys;
		runs[nruns++].count = pages;
		p = phys_to_virt(phys);
		end = p + pages * FRAME_SIZE;
	}
	next = p + size;
	memset(p, 0, size);
	return p;
}

unsigned boot_alloc_runs(void)
{
	return nruns;
}

void boot_alloc_run(unsigned i, uint64_t *phys, uint64_t *count)
{
	*phys = runs[i].phys;
	*count = runs[i].count;
}
