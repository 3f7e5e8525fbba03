/*
 * directmap.h: building the direct map, the window through which the
 * kernel reaches all RAM at a fixed offset from its physical address.
 *
 * directmap.c is pure logic, like paging.c, whose functions it calls:
 * the host tests (tests/host/test_paging.c) run it on simulated memory.
 */
#ifndef DIRECTMAP_H
#define DIRECTMAP_H

#include "e820.h"
#include <stdint.h>

/* A piece of physical memory whose pages get flags of their own in
 * the direct map (the kernel's code, say); flags 0 leaves its pages
 * unmapped (a guard page). Page-aligned. */
struct dm_area {
	uint64_t base, end;
	uint64_t flags;
};

/* Sort r[0..n-1] by base, widen every range to whole pages, and merge
 * ranges that then overlap or touch. Returns the new count. Types are
 * ignored (the result's are those of the first range of each run). */
int directmap_coalesce(struct mem_range *r, int n);

/* Map every page of the coalesced ranges r[0..n-1] at window +
 * physical: with 2 MiB pages where a whole aligned 2 MiB lies inside a
 * range and touches no area, with 4 KiB pages elsewhere, and with an
 * area's flags on its pages. Plain pages get ram_flags. Returns 0, or
 * the first PAGE_ERR_* and, in *where, the virtual address it concerns.
 * Precondition: r is the output of directmap_coalesce(). */
int directmap_map(uint64_t pml4, uint64_t window, const struct mem_range *r,
		  int n, const struct dm_area *areas, int n_areas,
		  uint64_t ram_flags, uint64_t *where);

#endif
