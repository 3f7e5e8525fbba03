/*
 * directmap.c: maps a list of physical ranges into the direct map,
 * with large pages where it can and the flags of special areas where
 * it must. vm.c gives it the RAM of the memory map.
 *
 * Pure logic: it changes page tables only through paging.c, so the host
 * tests (tests/host/test_paging.c) compile this very file.
 */
#include "directmap.h"
#include "paging.h"

/**
 * ## Ranges that share a page
 *
 * The memory map is sanitised (chapter 01), but only *usable* ranges
 * are cut to whole pages. The others keep the BIOS's byte boundaries,
 * and two of them may meet in the middle of a page: ACPI reclaimable
 * memory from 0x40000000 to 0x401FFC00, say, and ACPI NVS from there
 * on. Both are RAM, so both belong in the direct map, and the page at
 * 0x401FF000 belongs to both.
 *
 * Mapping the ranges one by one goes wrong there. The first range,
 * widened to whole pages, covers the whole 2 MiB at 0x40000000 and gets
 * one 2 MiB page; the second then wants a 4 KiB page inside it, and the
 * mapper rightly refuses (a large page is in the way). So the ranges
 * are first *coalesced*: sorted, widened to whole pages, and merged
 * where they then overlap or touch. After that no page belongs to two
 * ranges, every page is mapped exactly once, and the 2 MiB test sees
 * whole stretches of RAM.
 */
static uint64_t page_down(uint64_t a)
{
	return a & ~(PAGE_SIZE - 1);
}

static uint64_t page_up(uint64_t a)
{
	return a > UINT64_MAX - (PAGE_SIZE - 1) ? page_down(a)
						 : page_down(a + PAGE_SIZE - 1);
}

int directmap_coalesce(struct mem_range *r, int n)
{
	int out = 0;

	for (int i = 1; i < n; i++) {          /* insertion sort: n small */
		struct mem_range x = r[i];
		int j = i;

		for (; j > 0 && r[j - 1].base > x.base; j--)
			r[j] = r[j - 1];
		r[j] = x;
	}
	for (int i = 0; i < n; i++) {
		uint64_t base = page_down(r[i].base), end = page_up(r[i].end);

		if (base >= end)
			continue;                 /* empty */
		if (out > 0 && base <= r[out - 1].end) {
			if (end > r[out - 1].end)
				r[out - 1].end = end;
			continue;
		}
		r[out] = r[i];
		r[out].base = base;
		r[out].end = end;
		out++;
	}
	return out;
}

/* The flags of the page at phys: its area's, or plain RAM's. */
static uint64_t flags_at(uint64_t phys, const struct dm_area *a, int n,
			 uint64_t ram_flags)
{
	for (int i = 0; i < n; i++)
		if (phys >= a[i].base && phys < a[i].end)
			return a[i].flags;
	return ram_flags;
}

/* Does [lo, hi) touch an area? Then it needs 4 KiB pages. */
static int touches_area(uint64_t lo, uint64_t hi, const struct dm_area *a,
			int n)
{
	for (int i = 0; i < n; i++)
		if (lo < a[i].end && hi > a[i].base)
			return 1;
	return 0;
}

int directmap_map(uint64_t pml4, uint64_t window, const struct mem_range *r,
		  int n, const struct dm_area *areas, int n_areas,
		  uint64_t ram_flags, uint64_t *where)
{
	for (int i = 0; i < n; i++) {
		for (uint64_t p = r[i].base; p < r[i].end;) {
			uint64_t va = window + p, f;
			int err = 0, large = p % PAGE_SIZE_2M == 0 &&
					     r[i].end - p >= PAGE_SIZE_2M;

			if (large && !touches_area(p, p + PAGE_SIZE_2M, areas,
						   n_areas)) {
				err = page_map_2m(pml4, va, p, ram_flags);
				p += PAGE_SIZE_2M;
			} else {
				f = flags_at(p, areas, n_areas, ram_flags);
				if (f)
					err = page_map(pml4, va, p, f);
				p += PAGE_SIZE;
			}
			if (err) {
				*where = va;
				return err;
			}
		}
	}
	return 0;
}
