/*
 * test_paging.c: host unit tests for kernel/paging.c, the page-table
 * mapper.
 *
 * The files under test, paging.c and directmap.c (which builds the
 * kernel's direct map through paging.c's functions), are included whole
 * (a "unity build"), so this is
 * one program built by one command, run from 02-paging:
 *
 *   mkdir -p build/host
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Wall -Wextra -Werror -DHOST_TEST \
 *       -I kernel -o build/host/test_paging tests/host/test_paging.c
 *   build/host/test_paging
 *
 * (`make hosttest` does the same for every tests/host/test_*.c.)
 *
 * The mapper's environment is simulated here:
 *
 * - *physical memory* is one 2 MiB array (RAM_FRAMES frames of 4 KiB);
 *   `pt_phys_to_virt(phys)` is its base plus phys, and fails the
 *   current case if phys is outside it or not a table's first byte;
 * - a *frame pool* hands out its frames, never frame 0, filled with
 *   the byte 0xA5 (the real allocator does not clear frames either, so
 *   a table the mapper forgot to zero shows up as garbage). It catches
 *   double and stray frees, counts the frames in use, and can be told
 *   to fail from the k-th allocation on;
 * - `tlb_flush_page()`, `tlb_shootdown_page()` and
 *   `tlb_shootdown_range()` write every call into a log, the kind of
 *   flush with it;
 * - `spin_lock()` and `spin_unlock()` check that the page-table lock
 *   is taken once and released, and note whether it is held when the
 *   mapper takes frames, gives them back or flushes.
 *
 * frame_alloc() and frame_free() are declared below, before paging.c is
 * included. paging.c includes the kernel's frame.h only when HOST_TEST
 * is not defined, so this program builds whether or not kernel/frame.h
 * exists, and never depends on the rest of it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int frame_alloc(uint64_t count, uint64_t *phys);
void frame_free(uint64_t phys, uint64_t count);

#include "../../kernel/paging.c"
#include "../../kernel/directmap.c"

/* ---- Simulated physical memory and frame pool ------------------- */

#define RAM_FRAMES 512
#define RAM_BYTES (RAM_FRAMES * PAGE_SIZE)
#define POISON_ALLOC 0xA5
#define POISON_FREE 0x5A

static uint8_t *ram;
static bool frame_used[RAM_FRAMES];
static bool locked;               /* the page-table lock is held */
static long lock_count;           /* times it was taken */
static long frames_under_lock;    /* frame_alloc/free calls with it */
static int frames_in_use;
static long fail_countdown = -1;  /* -1: never fail; k: k more succeed */
static long allocations;          /* successful frame_alloc calls */

/* Where a bad address sends the mapper: reads as an empty table. */
static uint64_t scratch_table[PT_ENTRIES];

void *pt_phys_to_virt(uint64_t phys)
{
	if (phys >= RAM_BYTES || phys % PAGE_SIZE != 0) {
		check_fail(__FILE__, __LINE__,
			   "pt_phys_to_virt(%#lx): not a table in RAM",
			   (unsigned long)phys);
		memset(scratch_table, 0, sizeof scratch_table);
		return scratch_table;
	}
	return ram + phys;
}

int frame_alloc(uint64_t count, uint64_t *phys)
{
	frames_under_lock += locked;
	if (fail_countdown == 0)
		return -1;
	for (uint64_t f = 1; f + count <= RAM_FRAMES; f++) {
		uint64_t n = 0;

		while (n < count && !frame_used[f + n])
			n++;
		if (n < count)
			continue;
		for (n = 0; n < count; n++)
			frame_used[f + n] = true;
		memset(ram + f * PAGE_SIZE, POISON_ALLOC, count * PAGE_SIZE);
		frames_in_use += (int)count;
		allocations++;
		if (fail_countdown > 0)
			fail_countdown--;
		*phys = f * PAGE_SIZE;
		return 0;
	}
	return -1;
}

void frame_free(uint64_t phys, uint64_t count)
{
	uint64_t f = phys / PAGE_SIZE;

	frames_under_lock += locked;
	if (phys % PAGE_SIZE || f == 0 || f + count > RAM_FRAMES) {
		check_fail(__FILE__, __LINE__, "frame_free(%#lx): bad frame",
			   (unsigned long)phys);
		return;
	}
	for (uint64_t n = 0; n < count; n++) {
		if (!frame_used[f + n]) {
			check_fail(__FILE__, __LINE__,
				   "frame_free(%#lx): not allocated",
				   (unsigned long)(phys + n * PAGE_SIZE));
			return;
		}
		frame_used[f + n] = false;
	}
	memset(ram + phys, POISON_FREE, count * PAGE_SIZE);
	frames_in_use -= (int)count;
}

/* From now on, k allocations succeed and then every one fails. */
static void pool_fail_after(long k)
{
	fail_countdown = k;
}

static void pool_fail_off(void)
{
	fail_countdown = -1;
}

/* ---- The TLB log ----------------------------------------------- */

#define FLUSH_LOG 16
static uint64_t flush_log[FLUSH_LOG];
static long flush_count;
static int flush_frames_in_use;  /* frames_in_use at the last flush */

static long shootdown_count;       /* of the flushes, shootdowns */
static long flushes_unlocked;     /* flushes without the lock */

void tlb_flush_page(uint64_t va)
{
	flush_log[flush_count % FLUSH_LOG] = va;
	flush_count++;
	flush_frames_in_use = frames_in_use;
	flushes_unlocked += !locked;
}

/* Every CPU's flush: for the mapper, a flush like the other, which
 * must come before any frame it freed goes back. */
void tlb_shootdown_page(uint64_t va)
{
	tlb_flush_page(va);
	shootdown_count++;
}

static uint64_t range_va;          /* the last range shootdown's */
static unsigned range_pages;

void tlb_shootdown_range(uint64_t va, unsigned pages)
{
	for (unsigned i = 0; i < pages; i++)
		tlb_flush_page(va + i * PAGE_SIZE);
	shootdown_count++;
	range_va = va;
	range_pages = pages;
}

/* ---- The page-table lock ---------------------------------------- */

void spin_lock(struct spinlock *l)
{
	if (l->locked)
		check_fail(__FILE__, __LINE__, "lock '%s' taken twice",
			   l->name);
	l->locked = 1;
	locked = true;
	lock_count++;
}

void spin_unlock(struct spinlock *l)
{
	if (!l->locked)
		check_fail(__FILE__, __LINE__, "lock '%s' released unheld",
			   l->name);
	l->locked = 0;
	locked = false;
}

static uint64_t last_flush(void)
{
	return flush_count ? flush_log[(flush_count - 1) % FLUSH_LOG] : 0;
}

/* ---- Address spaces and helpers --------------------------------- */

/* A new address space: an empty PML4 from the pool. */
static uint64_t as_new(void)
{
	uint64_t pml4;

	if (frame_alloc(1, &pml4) != 0) {
		fprintf(stderr, "test_paging: pool empty\n");
		exit(2);
	}
	memset(ram + pml4, 0, PAGE_SIZE);
	return pml4;
}

static uint64_t *table_at(uint64_t phys)
{
	return pt_phys_to_virt(phys);
}

/* Tear an address space down: its lower half must be empty, its
 * kernel-half PDPTs (which the mapper keeps) must be empty tables. */
static void as_destroy(uint64_t pml4)
{
	uint64_t *t = table_at(pml4);

	for (int i = 0; i < PT_ENTRIES; i++) {
		if (t[i] == 0)
			continue;
		CHECKF(i >= 256, "PML4[%d] = %#lx left in the lower half", i,
		       (unsigned long)t[i]);
		if (i < 256)
			continue;
		CHECKF(table_is_empty(t[i] & PTE_ADDR, 0),
		       "kernel-half PDPT at PML4[%d] not empty", i);
		frame_free(t[i] & PTE_ADDR, 1);
	}
	frame_free(pml4, 1);
}

/* va from its four table indices, made canonical. */
static uint64_t make_va(unsigned i4, unsigned i3, unsigned i2, unsigned i1)
{
	uint64_t va = (uint64_t)i4 << 39 | (uint64_t)i3 << 30 |
		      (uint64_t)i2 << 21 | (uint64_t)i1 << 12;

	if (i4 >= 256)
		va |= 0xFFFF000000000000ull;
	return va;
}

/* The entry the walk for va reads at level (0 = PML4E). */
static uint64_t entry_of(uint64_t pml4, uint64_t va, int level)
{
	struct page_walk w;

	page_walk(pml4, va, &w);
	return level < w.levels ? w.entry[level] : 0;
}

/* Pointer to that entry, for tests that write entries by hand. */
static uint64_t *slot_of(uint64_t pml4, uint64_t va, int level)
{
	struct page_walk w;

	page_walk(pml4, va, &w);
	if (level >= w.levels) {
		check_fail(__FILE__, __LINE__, "no level %d for %#lx", level,
			   (unsigned long)va);
		return scratch_table;
	}
	return &table_at(w.table[level])[index_at(va, level)];
}

/* Translate va and compare with what is expected. */
#define EXPECT_TRANSLATE(pml4, va, phys_, flags_, size_)                 \
	do {                                                             \
		struct page_info in_ = { 0, 0, 0 };                      \
		int e_ = page_translate((pml4), (va), &in_);             \
		CHECKF(e_ == 0, "translate %#lx: %s", (unsigned long)(va), \
		       page_strerror(e_));                               \
		CHECKF(in_.phys == (phys_) && in_.flags == (flags_) &&   \
		       in_.size == (size_),                              \
		       "translate %#lx: phys %#lx flags %#lx size %#lx, " \
		       "want %#lx %#lx %#lx", (unsigned long)(va),       \
		       (unsigned long)in_.phys, (unsigned long)in_.flags, \
		       (unsigned long)in_.size, (unsigned long)(phys_),   \
		       (unsigned long)(flags_), (unsigned long)(size_));  \
	} while (0)

#define EXPECT_ERR(call, want)                                           \
	do {                                                             \
		int e_ = (call);                                         \
		CHECKF(e_ == (want), "%s: got %d (%s), want %d (%s)",    \
		       #call, e_, page_strerror(e_), (want),             \
		       page_strerror(want));                             \
	} while (0)

static bool is_mapped(uint64_t pml4, uint64_t va)
{
	struct page_info in;

	return page_translate(pml4, va, &in) == 0;
}

/* A copy of every frame in use, to prove that a failed call changed
 * nothing at all. */
static uint8_t *snap_ram;
static bool snap_used[RAM_FRAMES];

static void snapshot_take(void)
{
	memcpy(snap_ram, ram, RAM_BYTES);
	memcpy(snap_used, frame_used, sizeof snap_used);
}

static bool snapshot_same(void)
{
	for (int f = 0; f < RAM_FRAMES; f++) {
		if (snap_used[f] != frame_used[f])
			return false;
		if (frame_used[f] && memcmp(snap_ram + f * PAGE_SIZE,
					    ram + f * PAGE_SIZE, PAGE_SIZE))
			return false;
	}
	return true;
}

/* ---- Round trips ------------------------------------------------ */

static const uint64_t some_vas[] = {
	0x0,                    /* page 0: legal to map */
	0x1000,
	0x200000,               /* PD index 1 */
	0x40000000,             /* PDPT index 1 */
	0x4000000000,           /* PDPT index 256 */
	0x7FFFFFFFF000,         /* last page of the lower half */
	0xFFFF800000000000,     /* first page of the upper half */
	0xFFFFFE8000000000,     /* PML4 slot 509 */
	0xFFFFFF0000000000,     /* KERNEL_WINDOW */
	0xFFFFFF0000100000,     /* where the kernel is linked */
	0xFFFFFFFFFFFFF000,     /* the very last page */
};

/* One address at a time, each in a fresh address space. */
static void roundtrip_each_alone(void)
{
	int base = frames_in_use;

	for (size_t i = 0; i < sizeof some_vas / sizeof some_vas[0]; i++) {
		uint64_t va = some_vas[i], pa = 0x123456000 + i * PAGE_SIZE;
		uint64_t pml4 = as_new(), got = 0;
		int kernel = va >> 63;
		struct page_walk w;

		EXPECT_ERR(page_map(pml4, va, pa, PTE_W | PTE_NX), 0);
		CHECKF(frames_in_use == base + 4, "%d frames in use",
		       frames_in_use - base);
		EXPECT_TRANSLATE(pml4, va, pa, PTE_P | PTE_W | PTE_NX,
				 PAGE_SIZE);
		EXPECT_TRANSLATE(pml4, va + 0xABC, pa + 0xABC,
				 PTE_P | PTE_W | PTE_NX, PAGE_SIZE);
		page_walk(pml4, va + 8, &w);
		CHECK(w.levels == 4 && w.table[0] == pml4);
		CHECK(w.entry[3] == (pa | PTE_P | PTE_W | PTE_NX));
		EXPECT_ERR(page_unmap(pml4, va, &got), 0);
		CHECKF(got == pa, "unmap of %#lx gave %#lx",
		       (unsigned long)va, (unsigned long)got);
		EXPECT_ERR(page_translate(pml4, va, &(struct page_info){0}),
			   PAGE_ERR_NOT_MAPPED);
		/* only the PML4, and a kernel-half PDPT, are left */
		CHECKF(frames_in_use == base + 1 + kernel,
		       "after unmap of %#lx: %d frames", (unsigned long)va,
		       frames_in_use - base);
		as_destroy(pml4);
	}
	CHECK(frames_in_use == base);
}

/* All addresses in one address space, sharing tables. */
static void roundtrip_all_together(void)
{
	size_t n = sizeof some_vas / sizeof some_vas[0];
	uint64_t pml4, got;
	int base = frames_in_use;

	pml4 = as_new();
	for (size_t i = 0; i < n; i++)
		EXPECT_ERR(page_map(pml4, some_vas[i], (i + 1) * PAGE_SIZE,
				    PTE_W), 0);
	for (size_t i = 0; i < n; i++)
		EXPECT_TRANSLATE(pml4, some_vas[i] + 0xFFF,
				 (i + 1) * PAGE_SIZE + 0xFFF, PTE_P | PTE_W,
				 PAGE_SIZE);
	for (size_t i = n; i-- > 0;) {
		EXPECT_ERR(page_unmap(pml4, some_vas[i], &got), 0);
		CHECK(got == (i + 1) * PAGE_SIZE);
		for (size_t j = 0; j < n; j++)
			CHECKF(is_mapped(pml4, some_vas[j]) == (j < i),
			       "after unmapping %zu: %#lx", i,
			       (unsigned long)some_vas[j]);
	}
	as_destroy(pml4);
	CHECK(frames_in_use == base);
}

/* ---- Walks that stop early -------------------------------------- */

static void translate_unmapped_each_level(void)
{
	uint64_t pml4 = as_new(), va = make_va(3, 4, 5, 6);
	struct page_info in;
	struct page_walk w;
	/* differs from va first in the PML4, PDPT, PD, PT index */
	const uint64_t miss[4] = {
		make_va(2, 4, 5, 6), make_va(3, 5, 5, 6),
		make_va(3, 4, 6, 6), make_va(3, 4, 5, 7),
	};

	page_walk(pml4, va, &w);
	CHECK(w.levels == 1 && w.entry[0] == 0 && w.table[0] == pml4);
	EXPECT_ERR(page_translate(pml4, va, &in), PAGE_ERR_NOT_MAPPED);
	EXPECT_ERR(page_map(pml4, va, 0x5000, 0), 0);
	for (int level = 0; level < 4; level++) {
		EXPECT_ERR(page_translate(pml4, miss[level], &in),
			   PAGE_ERR_NOT_MAPPED);
		page_walk(pml4, miss[level], &w);
		CHECKF(w.levels == level + 1, "miss %d: %d levels", level,
		       w.levels);
		CHECK(w.entry[level] == 0);
		for (int l = 0; l < level; l++)
			CHECK(w.entry[l] == entry_of(pml4, va, l));
	}
	page_walk(pml4, va, &w);
	CHECK(w.levels == 4 && w.entry[3] == (0x5000 | PTE_P));
	for (int l = 1; l < 4; l++)
		CHECK(w.table[l] == (w.entry[l - 1] & PTE_ADDR));
	EXPECT_ERR(page_unmap(pml4, va, NULL), 0);
	as_destroy(pml4);
}

/* ---- Freeing tables --------------------------------------------- */

static void tables_freed_when_empty(void)
{
	int base = frames_in_use;
	uint64_t pml4 = as_new();
	uint64_t a = make_va(1, 2, 3, 4), b = make_va(1, 2, 3, 5);
	uint64_t c = make_va(1, 2, 7, 0);  /* same PD, another PT */

	EXPECT_ERR(page_map(pml4, a, 0x1000, PTE_W), 0);
	EXPECT_ERR(page_map(pml4, b, 0x2000, PTE_W), 0);
	CHECK(frames_in_use == base + 4);
	EXPECT_ERR(page_map(pml4, c, 0x3000, PTE_W), 0);
	CHECK(frames_in_use == base + 5);
	EXPECT_ERR(page_unmap(pml4, a, NULL), 0);   /* PT still has b */
	CHECK(frames_in_use == base + 5);
	CHECK(entry_of(pml4, b, 3) == (0x2000 | PTE_P | PTE_W));
	EXPECT_ERR(page_unmap(pml4, b, NULL), 0);   /* PT goes, PD stays */
	CHECK(frames_in_use == base + 4);
	CHECK(entry_of(pml4, a, 2) == 0);
	CHECK(is_mapped(pml4, c));
	EXPECT_ERR(page_unmap(pml4, c, NULL), 0);   /* all down to PML4 */
	CHECK(frames_in_use == base + 1);
	CHECK(table_is_empty(pml4, 0));
	as_destroy(pml4);
	CHECK(frames_in_use == base);
}

static void kernel_half_pdpt_kept(void)
{
	int base = frames_in_use;
	uint64_t pml4 = as_new(), va = 0xFFFFFF0000100000, pdpt;

	EXPECT_ERR(page_map(pml4, va, 0x100000, PTE_G), 0);
	pdpt = entry_of(pml4, va, 0) & PTE_ADDR;
	EXPECT_ERR(page_unmap(pml4, va, NULL), 0);
	CHECK(frames_in_use == base + 2);           /* PML4 + PDPT */
	CHECK((entry_of(pml4, va, 0) & PTE_ADDR) == pdpt);
	CHECK(entry_of(pml4, va, 0) & PTE_P);
	CHECK(table_is_empty(pdpt, 0));
	/* the kept PDPT is reused, not replaced */
	EXPECT_ERR(page_map(pml4, va, 0x100000, PTE_G), 0);
	CHECK((entry_of(pml4, va, 0) & PTE_ADDR) == pdpt);
	CHECK(frames_in_use == base + 4);
	EXPECT_ERR(page_unmap(pml4, va, NULL), 0);
	as_destroy(pml4);
	CHECK(frames_in_use == base);
}

/* A non-present entry that is not zero counts as used. */
static void nonzero_entry_keeps_table(void)
{
	int base = frames_in_use;
	uint64_t pml4 = as_new(), a = make_va(0, 0, 1, 1);
	uint64_t *pte;

	EXPECT_ERR(page_map(pml4, a, 0x1000, 0), 0);
	pte = slot_of(pml4, make_va(0, 0, 1, 2), 3);
	*pte = 0xDEAD000;                 /* no P bit: a software note */
	EXPECT_ERR(page_unmap(pml4, a, NULL), 0);
	CHECK(frames_in_use == base + 4);
	CHECK(*pte == 0xDEAD000);
	*pte = 0;
	EXPECT_ERR(page_map(pml4, a, 0x1000, 0), 0);
	EXPECT_ERR(page_unmap(pml4, a, NULL), 0);
	CHECK(frames_in_use == base + 1);
	as_destroy(pml4);
}

/* The outward search for a used entry must look at every entry, from
 * any starting point. */
static void emptiness_search_sees_every_entry(void)
{
	uint64_t t;
	uint64_t *e;

	if (frame_alloc(1, &t) != 0)
		return;
	e = table_at(t);
	memset(e, 0, PAGE_SIZE);
	for (unsigned near = 0; near < PT_ENTRIES; near++)
		CHECK(table_is_empty(t, near));
	for (unsigned used = 0; used < PT_ENTRIES; used++) {
		e[used] = 1ull << 40;  /* not present, still not empty */
		for (unsigned near = 0; near < PT_ENTRIES; near++)
			CHECKF(!table_is_empty(t, near),
			       "entry %u missed from %u", used, near);
		e[used] = 0;
	}
	frame_free(t, 1);
}

/* Frames come poisoned; the new tables must hold one entry each. */
static void new_tables_are_zeroed(void)
{
	uint64_t pml4 = as_new(), va = make_va(7, 8, 9, 10);
	struct page_walk w;

	EXPECT_ERR(page_map(pml4, va, 0x9000, PTE_W), 0);
	page_walk(pml4, va, &w);
	for (int level = 1; level < 4; level++) {
		const uint64_t *t = table_at(w.table[level]);
		int nonzero = 0;

		for (int i = 0; i < PT_ENTRIES; i++)
			nonzero += t[i] != 0;
		CHECKF(nonzero == 1, "level %d: %d non-zero entries", level,
		       nonzero);
	}
	EXPECT_ERR(page_unmap(pml4, va, NULL), 0);
	as_destroy(pml4);
}

/* ---- Flags ------------------------------------------------------ */

/* Combination m (0..127) of the seven flags a caller may choose. */
static uint64_t flag_combo(unsigned m, bool large)
{
	const uint64_t bits[7] = {
		PTE_W, PTE_U, PTE_PWT, PTE_PCD,
		large ? PTE_PAT_LARGE : PTE_PAT, PTE_G, PTE_NX,
	};
	uint64_t f = 0;

	for (int i = 0; i < 7; i++)
		if (m & (1u << i))
			f |= bits[i];
	return f;
}

static void flags_roundtrip(bool large)
{
	uint64_t pml4 = as_new(), size = large ? PAGE_SIZE_2M : PAGE_SIZE;
	int base = frames_in_use;

	for (unsigned m = 0; m < 128; m++) {
		uint64_t f = flag_combo(m, large);
		uint64_t g = flag_combo(127 - m, large);
		uint64_t va = make_va(m % 4, m, large ? 3 : 0, large ? 0 : m);
		uint64_t pa = (uint64_t)(m + 1) * PAGE_SIZE_2M, got = 0;
		int err = large ? page_map_2m(pml4, va, pa, f)
				: page_map(pml4, va, pa, f);

		CHECKF(err == 0, "map %#lx flags %#lx: %s",
		       (unsigned long)va, (unsigned long)f,
		       page_strerror(err));
		EXPECT_TRANSLATE(pml4, va + size - 1, pa + size - 1,
				 f | PTE_P, size);
		EXPECT_ERR(page_protect(pml4, va, g), 0);
		EXPECT_TRANSLATE(pml4, va, pa, g | PTE_P, size);
		if (large)
			CHECK(entry_of(pml4, va, 2) & PTE_PS);
		EXPECT_ERR(page_unmap(pml4, va, &got), 0);
		CHECK(got == pa);
	}
	CHECK(frames_in_use == base);
	as_destroy(pml4);
}

static void flags_roundtrip_4k(void)
{
	flags_roundtrip(false);
}

static void flags_roundtrip_2m(void)
{
	flags_roundtrip(true);
}

/* ---- Rights of the table entries -------------------------------- */

#define TABLE_BITS (PTE_P | PTE_W | PTE_U | PTE_NX)

static void intermediates_minimal(void)
{
	uint64_t pml4 = as_new(), va = make_va(1, 1, 1, 1);

	EXPECT_ERR(page_map(pml4, va, 0x1000, PTE_NX | PTE_G), 0);
	for (int level = 0; level < 3; level++)
		CHECKF((entry_of(pml4, va, level) & TABLE_BITS) ==
		       (PTE_P | PTE_W), "level %d: %#lx", level,
		       (unsigned long)entry_of(pml4, va, level));
	EXPECT_ERR(page_unmap(pml4, va, NULL), 0);
	as_destroy(pml4);
}

static void intermediate_user_upgrade(void)
{
	uint64_t pml4 = as_new(), kva = make_va(1, 1, 1, 1);
	uint64_t uva = make_va(1, 1, 1, 2);
	long flushes;

	EXPECT_ERR(page_map(pml4, kva, 0x1000, PTE_W), 0);
	for (int level = 0; level < 3; level++)
		CHECK(!(entry_of(pml4, kva, level) & PTE_U));
	flushes = flush_count;
	EXPECT_ERR(page_map(pml4, uva, 0x2000, PTE_U | PTE_NX), 0);
	CHECK(flush_count == flushes + 1 && last_flush() == uva);
	for (int level = 0; level < 3; level++)
		CHECKF((entry_of(pml4, uva, level) & TABLE_BITS) ==
		       (PTE_P | PTE_W | PTE_U), "level %d: %#lx", level,
		       (unsigned long)entry_of(pml4, uva, level));
	/* the kernel page itself did not get U */
	EXPECT_TRANSLATE(pml4, kva, 0x1000, PTE_P | PTE_W, PAGE_SIZE);
	/* a new user table below gets U from the start */
	EXPECT_ERR(page_map(pml4, make_va(1, 1, 9, 0), 0x3000, PTE_U), 0);
	CHECK(entry_of(pml4, make_va(1, 1, 9, 0), 2) & PTE_U);
	EXPECT_ERR(page_unmap(pml4, make_va(1, 1, 9, 0), NULL), 0);
	EXPECT_ERR(page_unmap(pml4, kva, NULL), 0);
	EXPECT_ERR(page_unmap(pml4, uva, NULL), 0);
	as_destroy(pml4);
}

/* Table entries written by someone else: without W, or with NX. */
static void intermediate_write_and_nx_upgrade(void)
{
	uint64_t pml4 = as_new(), a = make_va(2, 2, 2, 2);
	uint64_t b = make_va(2, 2, 2, 3), c = make_va(2, 2, 2, 4);
	uint64_t d = make_va(2, 2, 2, 5);

	EXPECT_ERR(page_map(pml4, a, 0x1000, 0), 0);
	for (int level = 0; level < 3; level++)
		*slot_of(pml4, a, level) = (*slot_of(pml4, a, level) &
					    ~PTE_W) | PTE_NX;
	/* read-only, not executable: nothing to upgrade */
	EXPECT_ERR(page_map(pml4, b, 0x2000, PTE_NX), 0);
	for (int level = 0; level < 3; level++)
		CHECK((entry_of(pml4, b, level) & TABLE_BITS) ==
		      (PTE_P | PTE_NX));
	/* writable, not executable: W added, NX stays */
	EXPECT_ERR(page_map(pml4, c, 0x3000, PTE_W | PTE_NX), 0);
	for (int level = 0; level < 3; level++)
		CHECK((entry_of(pml4, c, level) & TABLE_BITS) ==
		      (PTE_P | PTE_W | PTE_NX));
	/* executable: NX cleared on the way */
	EXPECT_ERR(page_map(pml4, d, 0x4000, 0), 0);
	for (int level = 0; level < 3; level++)
		CHECK((entry_of(pml4, d, level) & TABLE_BITS) ==
		      (PTE_P | PTE_W));
	EXPECT_ERR(page_unmap(pml4, a, NULL), 0);
	EXPECT_ERR(page_unmap(pml4, b, NULL), 0);
	EXPECT_ERR(page_unmap(pml4, c, NULL), 0);
	EXPECT_ERR(page_unmap(pml4, d, NULL), 0);
	as_destroy(pml4);
}

static void protect_upgrades_intermediates(void)
{
	uint64_t pml4 = as_new(), va = make_va(3, 3, 3, 3);

	EXPECT_ERR(page_map(pml4, va, 0x1000, PTE_NX), 0);
	EXPECT_ERR(page_protect(pml4, va, PTE_U | PTE_W), 0);
	for (int level = 0; level < 3; level++)
		CHECK((entry_of(pml4, va, level) & TABLE_BITS) ==
		      (PTE_P | PTE_W | PTE_U));
	EXPECT_TRANSLATE(pml4, va, 0x1000, PTE_P | PTE_U | PTE_W,
			 PAGE_SIZE);
	/* taking U away from the page leaves the tables alone */
	EXPECT_ERR(page_protect(pml4, va, 0), 0);
	CHECK(entry_of(pml4, va, 2) & PTE_U);
	EXPECT_TRANSLATE(pml4, va, 0x1000, PTE_P, PAGE_SIZE);
	EXPECT_ERR(page_unmap(pml4, va, NULL), 0);
	as_destroy(pml4);
}

/* ---- Large pages ------------------------------------------------ */

static void map_2m_translate_unmap(void)
{
	int base = frames_in_use;
	uint64_t pml4 = as_new(), va = 0x40200000, pa = 0x80000000, got;
	struct page_walk w;

	EXPECT_ERR(page_map_2m(pml4, va, pa, PTE_W | PTE_NX), 0);
	CHECK(frames_in_use == base + 3);           /* no PT */
	EXPECT_TRANSLATE(pml4, va + 0x12345, pa + 0x12345,
			 PTE_P | PTE_W | PTE_NX, PAGE_SIZE_2M);
	page_walk(pml4, va + 0x12345, &w);
	CHECK(w.levels == 3 && (w.entry[2] & PTE_PS));
	CHECK(w.entry[2] == (pa | PTE_P | PTE_W | PTE_PS | PTE_NX));
	EXPECT_ERR(page_map_2m(pml4, va, pa, 0), PAGE_ERR_EXISTS);
	EXPECT_ERR(page_unmap(pml4, va + PAGE_SIZE, NULL), PAGE_ERR_ALIGN);
	EXPECT_ERR(page_protect(pml4, va + PAGE_SIZE, 0), PAGE_ERR_ALIGN);
	EXPECT_ERR(page_protect(pml4, va, PTE_PAT), PAGE_ERR_FLAGS);
	EXPECT_ERR(page_protect(pml4, va, PTE_PAT_LARGE), 0);
	EXPECT_TRANSLATE(pml4, va, pa, PTE_P | PTE_PAT_LARGE, PAGE_SIZE_2M);
	EXPECT_ERR(page_unmap(pml4, va, &got), 0);
	CHECK(got == pa);
	CHECK(frames_in_use == base + 1);
	as_destroy(pml4);
}

static void map_4k_under_2m_is_huge(void)
{
	uint64_t pml4 = as_new(), va = make_va(0, 1, 1, 0);
	int in_use;

	EXPECT_ERR(page_map_2m(pml4, va, PAGE_SIZE_2M, 0), 0);
	in_use = frames_in_use;
	snapshot_take();
	for (uint64_t off = 0; off < PAGE_SIZE_2M; off += 0x7F000)
		EXPECT_ERR(page_map(pml4, va + off, 0x1000, 0),
			   PAGE_ERR_HUGE);
	CHECK(frames_in_use == in_use && snapshot_same());
	EXPECT_ERR(page_unmap(pml4, va, NULL), 0);
	as_destroy(pml4);
}

static void map_2m_over_table_is_huge(void)
{
	uint64_t pml4 = as_new(), va = make_va(0, 1, 2, 0);
	uint64_t inside = va + 0x5000;

	EXPECT_ERR(page_map(pml4, inside, 0x1000, 0), 0);
	snapshot_take();
	EXPECT_ERR(page_map_2m(pml4, va, PAGE_SIZE_2M, 0), PAGE_ERR_HUGE);
	CHECK(snapshot_same());
	EXPECT_TRANSLATE(pml4, inside, 0x1000, PTE_P, PAGE_SIZE);
	/* an empty PT left by hand is a table all the same */
	EXPECT_ERR(page_unmap(pml4, inside, NULL), 0);
	EXPECT_ERR(page_map(pml4, inside, 0x1000, 0), 0);
	*slot_of(pml4, inside, 3) = 0;
	EXPECT_ERR(page_map_2m(pml4, va, PAGE_SIZE_2M, 0), PAGE_ERR_HUGE);
	*slot_of(pml4, inside, 3) = 0x1000 | PTE_P;
	EXPECT_ERR(page_unmap(pml4, inside, NULL), 0);
	/* with the PT gone, the large page fits */
	EXPECT_ERR(page_map_2m(pml4, va, PAGE_SIZE_2M, 0), 0);
	EXPECT_ERR(page_unmap(pml4, va, NULL), 0);
	as_destroy(pml4);
}

/* A 1 GiB page built by hand, at 5 GiB: far outside simulated RAM, so
 * if anything walked into it as a table, pt_phys_to_virt would fail
 * the case. */
static void huge_1g_handbuilt(void)
{
	int base = frames_in_use;
	uint64_t pml4 = as_new(), pdpt, got;
	uint64_t va = make_va(1, 3, 0, 0), pa = 5 * PAGE_SIZE_1G;
	struct page_walk w;

	if (frame_alloc(1, &pdpt) != 0)
		return;
	memset(ram + pdpt, 0, PAGE_SIZE);
	table_at(pml4)[1] = pdpt | PTE_P | PTE_W;
	table_at(pdpt)[3] = pa | PTE_P | PTE_W | PTE_PS | PTE_NX;

	EXPECT_TRANSLATE(pml4, va + 0x1234567, pa + 0x1234567,
			 PTE_P | PTE_W | PTE_NX, PAGE_SIZE_1G);
	EXPECT_TRANSLATE(pml4, va + PAGE_SIZE_1G - 1, pa + PAGE_SIZE_1G - 1,
			 PTE_P | PTE_W | PTE_NX, PAGE_SIZE_1G);
	page_walk(pml4, va + 0x1234567, &w);
	CHECK(w.levels == 2 && w.table[1] == pdpt);
	EXPECT_ERR(page_map(pml4, va + 0x200000, 0x1000, 0), PAGE_ERR_HUGE);
	EXPECT_ERR(page_map_2m(pml4, va + 0x200000, 0, 0), PAGE_ERR_HUGE);
	EXPECT_ERR(page_unmap(pml4, va + 0x200000, NULL), PAGE_ERR_ALIGN);
	EXPECT_ERR(page_protect(pml4, va, PTE_PAT_LARGE | PTE_G), 0);
	EXPECT_TRANSLATE(pml4, va, pa, PTE_P | PTE_PAT_LARGE | PTE_G,
			 PAGE_SIZE_1G);
	CHECK(table_at(pdpt)[3] ==
	      (pa | PTE_P | PTE_PS | PTE_PAT_LARGE | PTE_G));
	EXPECT_ERR(page_unmap(pml4, va, &got), 0);
	CHECK(got == pa);
	/* a lower-half PDPT left empty is freed */
	CHECK(frames_in_use == base + 1 && table_at(pml4)[1] == 0);
	as_destroy(pml4);
}

/* The bootloader's tables of chapter 01: PML4 slots 0 and 510 share
 * one PDPT, whose entry 0 points at a PD of 512 pages of 2 MiB. */
static void bootloader_tables(void)
{
	uint64_t pml4 = as_new(), pdpt, pd, va;

	if (frame_alloc(1, &pdpt) != 0 || frame_alloc(1, &pd) != 0)
		return;
	memset(ram + pdpt, 0, PAGE_SIZE);
	table_at(pml4)[0] = pdpt | PTE_P | PTE_W;
	table_at(pml4)[510] = pdpt | PTE_P | PTE_W;
	table_at(pdpt)[0] = pd | PTE_P | PTE_W;
	for (uint64_t i = 0; i < PT_ENTRIES; i++)
		table_at(pd)[i] = i * PAGE_SIZE_2M | PTE_P | PTE_W | PTE_PS;

	EXPECT_TRANSLATE(pml4, 0xFFFFFF00000B8000, 0xB8000, PTE_P | PTE_W,
			 PAGE_SIZE_2M);
	EXPECT_TRANSLATE(pml4, 0xFFFFFF0000100000, 0x100000, PTE_P | PTE_W,
			 PAGE_SIZE_2M);
	EXPECT_TRANSLATE(pml4, 0x3FFFFFFF, 0x3FFFFFFF, PTE_P | PTE_W,
			 PAGE_SIZE_2M);
	/* above the first GiB: a new PD and PT under the shared PDPT */
	va = 0xFFFFFF0040000000;
	EXPECT_ERR(page_map(pml4, va, 0x7000, PTE_W), 0);
	EXPECT_TRANSLATE(pml4, va, 0x7000, PTE_P | PTE_W, PAGE_SIZE);
	EXPECT_TRANSLATE(pml4, 0x40000000, 0x7000, PTE_P | PTE_W, PAGE_SIZE);
	EXPECT_ERR(page_unmap(pml4, va, NULL), 0);
	CHECK(table_at(pdpt)[1] == 0 && table_at(pml4)[510] != 0);
	frame_free(pd, 1);
	frame_free(pdpt, 1);
	memset(ram + pml4, 0, PAGE_SIZE);
	as_destroy(pml4);
}

/* ---- Out of frames ---------------------------------------------- */

/* Map va (2 MiB if large) with allocations failing from the k-th on:
 * nothing may change; then the same call must succeed. */
static void out_of_frames_case(uint64_t pml4, uint64_t va, bool large,
			       long k)
{
	int in_use = frames_in_use;
	/* a kernel-half PDPT made by the retry stays after the unmap */
	int kept = (va >> 63) && !(entry_of(pml4, va, 0) & PTE_P);
	long flushes = flush_count;
	uint64_t pa = large ? PAGE_SIZE_2M : 0x3000;
	int err;

	snapshot_take();
	pool_fail_after(k);
	err = large ? page_map_2m(pml4, va, pa, PTE_W)
		    : page_map(pml4, va, pa, PTE_W);
	pool_fail_off();
	CHECKF(err == PAGE_ERR_NOMEM, "k=%ld: got %d", k, err);
	CHECKF(frames_in_use == in_use, "k=%ld: %d frames leaked", k,
	       frames_in_use - in_use);
	CHECK(snapshot_same());
	CHECK(flush_count == flushes);
	CHECK(!is_mapped(pml4, va));
	err = large ? page_map_2m(pml4, va, pa, PTE_W)
		    : page_map(pml4, va, pa, PTE_W);
	CHECKF(err == 0, "retry: %s", page_strerror(err));
	EXPECT_TRANSLATE(pml4, va, pa, PTE_P | PTE_W,
			 large ? PAGE_SIZE_2M : PAGE_SIZE);
	EXPECT_ERR(page_unmap(pml4, va, NULL), 0);
	CHECK(frames_in_use == in_use + kept);
}

static void out_of_frames(void)
{
	uint64_t other = make_va(4, 0, 0, 1);

	/* 4 KiB into an empty region: PDPT, PD and PT are missing */
	for (long k = 0; k < 3; k++) {
		uint64_t pml4 = as_new();

		CASE("out_of_frames_4k_need3_k%ld", k) {
			out_of_frames_case(pml4, make_va(4, 5, 6, 7), false, k);
			as_destroy(pml4);
		}
	}
	/* 4 KiB where only the PDPT exists: PD and PT missing */
	for (long k = 0; k < 2; k++) {
		uint64_t pml4 = as_new();

		CASE("out_of_frames_4k_need2_k%ld", k) {
			EXPECT_ERR(page_map(pml4, other, 0x1000, 0), 0);
			out_of_frames_case(pml4, make_va(4, 5, 6, 7), false, k);
			EXPECT_ERR(page_unmap(pml4, other, NULL), 0);
			as_destroy(pml4);
		}
	}
	/* 2 MiB into an empty region: PDPT and PD missing */
	for (long k = 0; k < 2; k++) {
		uint64_t pml4 = as_new();

		CASE("out_of_frames_2m_need2_k%ld", k) {
			out_of_frames_case(pml4, make_va(4, 5, 6, 0), true, k);
			as_destroy(pml4);
		}
	}
	/* the same in the kernel half, where the PDPT stays */
	for (long k = 0; k < 3; k++) {
		uint64_t pml4 = as_new();

		CASE("out_of_frames_kernel_half_k%ld", k) {
			out_of_frames_case(pml4, make_va(300, 5, 6, 7), false,
					   k);
			as_destroy(pml4);
		}
	}
	/* nothing missing: no allocation, so no failure */
	{
		uint64_t pml4 = as_new(), va = make_va(4, 0, 0, 2);

		CASE("out_of_frames_need0_succeeds") {
			EXPECT_ERR(page_map(pml4, other, 0x1000, 0), 0);
			pool_fail_after(0);
			EXPECT_ERR(page_map(pml4, va, 0x2000, 0), 0);
			pool_fail_off();
			EXPECT_ERR(page_unmap(pml4, va, NULL), 0);
			EXPECT_ERR(page_unmap(pml4, other, NULL), 0);
			as_destroy(pml4);
		}
	}
}

/* ---- Refused arguments ------------------------------------------ */

static void reject_noncanonical(void)
{
	const uint64_t bad[] = {
		0x0000800000000000, 0xFFFF7FFFFFFFF000, 0x8000000000000000,
		0x0001000000000000, 0x7FFFFFFFFFFFF000,
	};
	uint64_t pml4 = as_new();
	struct page_info in;
	struct page_walk w;
	int in_use = frames_in_use;

	snapshot_take();
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t va = bad[i];

		EXPECT_ERR(page_map(pml4, va, 0x1000, 0),
			   PAGE_ERR_NONCANONICAL);
		EXPECT_ERR(page_map_2m(pml4, va & ~(PAGE_SIZE_2M - 1), 0, 0),
			   PAGE_ERR_NONCANONICAL);
		EXPECT_ERR(page_unmap(pml4, va, NULL), PAGE_ERR_NONCANONICAL);
		EXPECT_ERR(page_translate(pml4, va, &in),
			   PAGE_ERR_NONCANONICAL);
		EXPECT_ERR(page_protect(pml4, va, 0), PAGE_ERR_NONCANONICAL);
		page_walk(pml4, va, &w);
		CHECK(w.levels == 0);
	}
	CHECK(frames_in_use == in_use && snapshot_same());
	as_destroy(pml4);
}

static void reject_misaligned(void)
{
	uint64_t pml4 = as_new();
	int in_use = frames_in_use;

	snapshot_take();
	EXPECT_ERR(page_map(pml4, 0x1001, 0x1000, 0), PAGE_ERR_ALIGN);
	EXPECT_ERR(page_map(pml4, 0x1000, 0x1800, 0), PAGE_ERR_ALIGN);
	EXPECT_ERR(page_map(pml4, 0x1000, 1ull << 52, 0), PAGE_ERR_ALIGN);
	EXPECT_ERR(page_map_2m(pml4, 0x201000, 0x200000, 0), PAGE_ERR_ALIGN);
	EXPECT_ERR(page_map_2m(pml4, 0x200000, 0x201000, 0), PAGE_ERR_ALIGN);
	EXPECT_ERR(page_map_2m(pml4, 0x200000, 1ull << 63, 0),
		   PAGE_ERR_ALIGN);
	EXPECT_ERR(page_unmap(pml4, 0x1008, NULL), PAGE_ERR_ALIGN);
	EXPECT_ERR(page_protect(pml4, 0x1008, 0), PAGE_ERR_ALIGN);
	CHECK(frames_in_use == in_use && snapshot_same());
	as_destroy(pml4);
}

static void reject_bad_flags(void)
{
	uint64_t pml4 = as_new(), va = 0x5000;
	int in_use = frames_in_use;

	snapshot_take();
	EXPECT_ERR(page_map(pml4, va, 0x1000, 1ull << 12), PAGE_ERR_FLAGS);
	EXPECT_ERR(page_map(pml4, va, 0x1000, 1ull << 51), PAGE_ERR_FLAGS);
	EXPECT_ERR(page_map(pml4, va, 0x1000, PTE_ADDR), PAGE_ERR_FLAGS);
	EXPECT_ERR(page_map_2m(pml4, 0, 0, PTE_PS), PAGE_ERR_FLAGS);
	EXPECT_ERR(page_map_2m(pml4, 0, 0, 1ull << 13), PAGE_ERR_FLAGS);
	EXPECT_ERR(page_map_2m(pml4, 0, 0, 1ull << 40), PAGE_ERR_FLAGS);
	CHECK(frames_in_use == in_use && snapshot_same());
	/* allowed: PAT (bit 7) in a PTE, A, D, bits 9-11 and 52-62 */
	EXPECT_ERR(page_map(pml4, va, 0x1000, PTE_PAT | PTE_A | PTE_D |
			    (7ull << 9) | (0x7Full << 52)), 0);
	EXPECT_ERR(page_protect(pml4, va, 1ull << 20), PAGE_ERR_FLAGS);
	EXPECT_ERR(page_unmap(pml4, va, NULL), 0);
	as_destroy(pml4);
}

static void double_map_exists(void)
{
	uint64_t pml4 = as_new(), va = make_va(5, 5, 5, 5);

	EXPECT_ERR(page_map(pml4, va, 0x1000, PTE_W), 0);
	snapshot_take();
	EXPECT_ERR(page_map(pml4, va, 0x2000, 0), PAGE_ERR_EXISTS);
	EXPECT_ERR(page_map(pml4, va, 0x1000, PTE_W), PAGE_ERR_EXISTS);
	CHECK(snapshot_same());
	EXPECT_TRANSLATE(pml4, va, 0x1000, PTE_P | PTE_W, PAGE_SIZE);
	EXPECT_ERR(page_unmap(pml4, va, NULL), 0);
	as_destroy(pml4);
}

static void unmap_not_mapped(void)
{
	uint64_t pml4 = as_new(), va = make_va(6, 6, 6, 6);
	uint64_t got = 0x77;

	EXPECT_ERR(page_unmap(pml4, va, &got), PAGE_ERR_NOT_MAPPED);
	EXPECT_ERR(page_protect(pml4, va, 0), PAGE_ERR_NOT_MAPPED);
	EXPECT_ERR(page_map(pml4, va, 0x1000, 0), 0);
	/* tables all there, only the PTE missing */
	EXPECT_ERR(page_unmap(pml4, va + PAGE_SIZE, &got),
		   PAGE_ERR_NOT_MAPPED);
	CHECK(got == 0x77);
	EXPECT_ERR(page_unmap(pml4, va, &got), 0);
	EXPECT_ERR(page_unmap(pml4, va, &got), PAGE_ERR_NOT_MAPPED);
	as_destroy(pml4);
}

/* ---- TLB flushes ------------------------------------------------ */

static void tlb_flush_on_every_change(void)
{
	uint64_t pml4 = as_new(), va = make_va(8, 8, 8, 8);
	uint64_t big = make_va(8, 8, 9, 0);
	struct page_info in;
	long n = flush_count;
	int in_use;

	long shot = shootdown_count;

	/* a map flushes this CPU; protect and unmap every CPU */
	EXPECT_ERR(page_map(pml4, va, 0x1000, 0), 0);
	CHECK(flush_count == n + 1 && last_flush() == va);
	CHECK(shootdown_count == shot);
	EXPECT_ERR(page_protect(pml4, va, PTE_W), 0);
	CHECK(flush_count == n + 2 && last_flush() == va);
	CHECK(shootdown_count == shot + 1);
	EXPECT_ERR(page_map_2m(pml4, big, 0, 0), 0);
	CHECK(flush_count == n + 3 && last_flush() == big);
	EXPECT_ERR(page_protect(pml4, big, PTE_NX), 0);
	CHECK(flush_count == n + 4 && last_flush() == big);
	CHECK(shootdown_count == shot + 2);
	/* failures and reads change nothing and flush nothing */
	EXPECT_ERR(page_map(pml4, va, 0x1000, 0), PAGE_ERR_EXISTS);
	EXPECT_ERR(page_map(pml4, big, 0, 0), PAGE_ERR_HUGE);
	EXPECT_ERR(page_unmap(pml4, va + PAGE_SIZE, NULL),
		   PAGE_ERR_NOT_MAPPED);
	EXPECT_ERR(page_protect(pml4, va, 1ull << 30), PAGE_ERR_FLAGS);
	EXPECT_ERR(page_translate(pml4, va, &in), 0);
	CHECK(flush_count == n + 4);
	EXPECT_ERR(page_unmap(pml4, big, NULL), 0);
	CHECK(flush_count == n + 5 && last_flush() == big);
	in_use = frames_in_use;
	EXPECT_ERR(page_unmap(pml4, va, NULL), 0);  /* frees 3 tables */
	CHECK(flush_count == n + 6 && last_flush() == va);
	CHECK(shootdown_count == shot + 4);
	/* the frames went back only after the flush */
	CHECK(flush_frames_in_use == in_use && frames_in_use == in_use - 3);
	as_destroy(pml4);
}

/* page_unmap_run(): 150 pages that cross a page table's end, in
 * batches of UNMAP_BATCH, one shootdown each, every frame freed after
 * its batch's shootdown; a hole or a 2 MiB page stops the run there. */
static void unmap_run_one_shootdown_a_batch(void)
{
	enum { N = 150 };
	uint64_t pml4 = as_new(), va = make_va(10, 10, 10, 500), pa;
	struct page_info in;
	long shot, flushes;
	int base, tables;

	base = frames_in_use;
	for (unsigned i = 0; i < N; i++) {
		CHECK(frame_alloc(1, &pa) == 0);
		EXPECT_ERR(page_map(pml4, va + i * PAGE_SIZE, pa, PTE_W), 0);
	}
	tables = frames_in_use - base - N;     /* PDPT, PD, two PTs */
	CHECKF(tables == 4, "%d tables", tables);
	shot = shootdown_count;
	flushes = flush_count;
	EXPECT_ERR(page_unmap_run(pml4, va, N), 0);
	CHECKF(shootdown_count == shot + (N + UNMAP_BATCH - 1) / UNMAP_BATCH,
	       "%ld shootdowns for %d pages", shootdown_count - shot, N);
	CHECK(flush_count == flushes + N);
	CHECK(range_va == va + (N - N % UNMAP_BATCH) * PAGE_SIZE &&
	      range_pages == N % UNMAP_BATCH);
	/* the last batch's frames and 3 tables went back after it (the
	 * first page table, emptied by the first batch, with that one) */
	CHECKF(flush_frames_in_use == base + N % UNMAP_BATCH + tables - 1,
	       "%d frames in use at the last shootdown",
	       flush_frames_in_use - base);
	CHECK(frames_in_use == base);
	for (unsigned i = 0; i < N; i++)
		EXPECT_ERR(page_translate(pml4, va + i * PAGE_SIZE, &in),
			   PAGE_ERR_NOT_MAPPED);

	/* pages 0-2 mapped, a hole at 3, page 4 mapped */
	for (unsigned i = 0; i < 5; i++) {
		if (i == 3)
			continue;
		CHECK(frame_alloc(1, &pa) == 0);
		EXPECT_ERR(page_map(pml4, va + i * PAGE_SIZE, pa, PTE_W), 0);
	}
	shot = shootdown_count;
	EXPECT_ERR(page_unmap_run(pml4, va, 5), PAGE_ERR_NOT_MAPPED);
	CHECK(shootdown_count == shot + 1 && range_pages == 3);
	EXPECT_ERR(page_translate(pml4, va + 2 * PAGE_SIZE, &in),
		   PAGE_ERR_NOT_MAPPED);
	EXPECT_ERR(page_translate(pml4, va + 4 * PAGE_SIZE, &in), 0);
	EXPECT_ERR(page_unmap_run(pml4, va + 4 * PAGE_SIZE, 1), 0);
	CHECK(frames_in_use == base);

	/* a 2 MiB page is not a run of 4 KiB pages */
	EXPECT_ERR(page_map_2m(pml4, make_va(10, 10, 12, 0), 0, 0), 0);
	shot = shootdown_count;
	EXPECT_ERR(page_unmap_run(pml4, make_va(10, 10, 12, 0), 1),
		   PAGE_ERR_HUGE);
	CHECK(shootdown_count == shot);
	EXPECT_ERR(page_unmap(pml4, make_va(10, 10, 12, 0), NULL), 0);
	as_destroy(pml4);
}

/* ---- The lock -------------------------------------------------- */

/* Every operation takes the page-table lock once and lets it go, and
 * holds it while it takes and frees table frames and flushes; a
 * failing call too. (The walk for reports takes no lock.) */
static void lock_held_by_every_operation(void)
{
	uint64_t pml4 = as_new(), va = make_va(9, 9, 9, 9), pa;
	struct page_info in;
	struct page_walk w;
	long n = lock_count, frames = frames_under_lock;

	flushes_unlocked = 0;
	EXPECT_ERR(page_map(pml4, va, 0x3000, PTE_W), 0);  /* 3 tables */
	CHECK(lock_count == n + 1 && !locked);
	CHECKF(frames_under_lock == frames + 3, "%ld frame calls locked",
	       frames_under_lock - frames);
	EXPECT_ERR(page_map(pml4, va, 0x3000, PTE_W), PAGE_ERR_EXISTS);
	EXPECT_ERR(page_translate(pml4, va, &in), 0);
	EXPECT_ERR(page_protect(pml4, va, 0), 0);
	CHECK(lock_count == n + 4 && !locked);
	page_walk(pml4, va, &w);
	CHECK(lock_count == n + 4);
	frames = frames_under_lock;
	EXPECT_ERR(page_unmap(pml4, va, &pa), 0);          /* 3 tables */
	CHECK(pa == 0x3000 && lock_count == n + 5 && !locked);
	CHECK(frames_under_lock == frames + 3);
	EXPECT_ERR(page_map_2m(pml4, va & ~(PAGE_SIZE_2M - 1), 0, 0), 0);
	EXPECT_ERR(page_unmap(pml4, va & ~(PAGE_SIZE_2M - 1), NULL), 0);
	CHECK(lock_count == n + 7 && !locked);
	CHECKF(flushes_unlocked == 0, "%ld flushes without the lock",
	       flushes_unlocked);
	as_destroy(pml4);
}

/* ---- Printing --------------------------------------------------- */

static void flags_string(void)
{
	char buf[PTE_FLAGS_STR_LEN], small[4];
	const uint64_t all = PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD |
			     PTE_A | PTE_D | PTE_PS | PTE_G | PTE_NX;

	CHECK(strcmp(pte_flags_str(all | PTE_ADDR, buf, sizeof buf),
		     "P W U PWT PCD A D PS G NX") == 0);
	CHECK(strlen(buf) + 1 == PTE_FLAGS_STR_LEN);
	CHECKF(strcmp(pte_flags_str(0, buf, sizeof buf),
		      "- - - --- --- - - -- - --") == 0, "'%s'", buf);
	CHECKF(strcmp(pte_flags_str(PTE_P | PTE_W | PTE_A | PTE_D | PTE_NX,
				    buf, sizeof buf),
		      "P W - --- --- A D -- - NX") == 0, "'%s'", buf);
	CHECKF(strcmp(pte_flags_str(PTE_P | PTE_PCD | PTE_PS | PTE_G, buf,
				    sizeof buf),
		      "P - - --- PCD - - PS G --") == 0, "'%s'", buf);
	CHECK(strcmp(pte_flags_str(all, small, sizeof small), "P W") == 0);
	CHECK(strcmp(pte_flags_str(all, small, 1), "") == 0);
	CHECK(pte_flags_str(all, NULL, 0) == NULL);
}

static void strerror_all_codes(void)
{
	for (int e = PAGE_ERR_FLAGS; e <= 0; e++) {
		CHECK(page_strerror(e) != NULL);
		for (int f = PAGE_ERR_FLAGS; f < e; f++)
			CHECK(strcmp(page_strerror(e), page_strerror(f)) != 0);
	}
	CHECK(strcmp(page_strerror(-99), "unknown paging error") == 0);
	CHECK(strcmp(page_strerror(PAGE_ERR_HUGE), "unknown paging error"));
}

/* ---- Randomised, against a model -------------------------------- */

/* The model: a few regions of 2 MiB, each holding either one 2 MiB page
 * or up to three 4 KiB pages (PT indices 0, 1 and 511). Their table
 * indices are picked to share and to not share every level. */
static const unsigned m_i4[] = { 0, 1, 255, 256, 300, 511 };
static const unsigned m_i3[] = { 0, 1, 511 };
static const unsigned m_i2[] = { 0, 1, 511 };
static const unsigned m_i1[] = { 0, 1, 511 };
#define N4 6
#define N3 3
#define N2 3
#define N1 3
#define NREGIONS (N4 * N3 * N2)

struct region {
	bool large;                   /* a 2 MiB page */
	uint64_t large_pa, large_flags;
	bool small[N1];               /* 4 KiB pages */
	uint64_t pa[N1], flags[N1];
};

static struct region model[NREGIONS];
static bool model_pdpt_kept[N4];  /* kernel half: PDPT made once */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)  /* xorshift64 */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t region_va(int r)
{
	return make_va(m_i4[r / (N3 * N2)], m_i3[r / N2 % N3], m_i2[r % N2],
		       0);
}

static uint64_t small_va(int r, int s)
{
	return region_va(r) + (uint64_t)m_i1[s] * PAGE_SIZE;
}

static bool region_used(int r)
{
	const struct region *g = &model[r];

	return g->large || g->small[0] || g->small[1] || g->small[2];
}

static bool region_has_pt(int r)
{
	const struct region *g = &model[r];

	return g->small[0] || g->small[1] || g->small[2];
}

/* Is any region under PML4 slot a (and PDPT slot b, if b >= 0) used? */
static bool subtree_used(int a, int b)
{
	for (int r = 0; r < NREGIONS; r++)
		if (r / (N3 * N2) == a && (b < 0 || r / N2 % N3 == b) &&
		    region_used(r))
			return true;
	return false;
}

static bool model_has_pdpt(int a)
{
	return model_pdpt_kept[a] || subtree_used(a, -1);
}

/* Frames the model says the tables need, PML4 included. */
static int model_tables(void)
{
	int n = 1;

	for (int a = 0; a < N4; a++) {
		n += model_has_pdpt(a);
		for (int b = 0; b < N3; b++)
			n += subtree_used(a, b);
	}
	for (int r = 0; r < NREGIONS; r++)
		n += region_has_pt(r);
	return n;
}

/* Tables a map into region r needs (large: a 2 MiB page). */
static int model_missing(int r, bool large)
{
	int a = r / (N3 * N2), b = r / N2 % N3;
	int n = !model_has_pdpt(a) + !subtree_used(a, b);

	return large ? n : n + !region_has_pt(r);
}

static uint64_t random_flags(bool large)
{
	return flag_combo((unsigned)(rng() & 127), large);
}

/* Does translate agree with the model at every page of region r? */
static void model_check_region(uint64_t pml4, int r)
{
	const struct region *g = &model[r];
	struct page_info in;

	for (int s = 0; s < N1; s++) {
		uint64_t va = small_va(r, s) + (rng() & (PAGE_SIZE - 1));
		int err = page_translate(pml4, va, &in);

		if (g->large) {
			uint64_t off = va - region_va(r);

			CHECKF(err == 0 && in.size == PAGE_SIZE_2M &&
			       in.phys == g->large_pa + off &&
			       in.flags == (g->large_flags | PTE_P),
			       "region %d: 2 MiB page wrong at %#lx", r,
			       (unsigned long)va);
		} else if (g->small[s]) {
			CHECKF(err == 0 && in.size == PAGE_SIZE &&
			       in.phys == g->pa[s] + (va & 0xFFF) &&
			       in.flags == (g->flags[s] | PTE_P),
			       "region %d page %d wrong at %#lx", r, s,
			       (unsigned long)va);
		} else {
			CHECKF(err == PAGE_ERR_NOT_MAPPED,
			       "region %d page %d: got %d, want unmapped",
			       r, s, err);
		}
	}
}

static void model_op_map(uint64_t pml4, int r, bool large, long budget)
{
	struct region *g = &model[r];
	int s = (int)(rng() % N1), want = 0, got, missing;
	uint64_t flags = random_flags(large);
	uint64_t pa = large ? (rng() & 0xFFFFF) << 21
			    : (rng() & 0xFFFFFFF) << 12;
	uint64_t va = large ? region_va(r) : small_va(r, s);

	missing = model_missing(r, large);
	if (large && g->large)
		want = PAGE_ERR_EXISTS;
	else if (large && region_has_pt(r))
		want = PAGE_ERR_HUGE;
	else if (!large && g->large)
		want = PAGE_ERR_HUGE;
	else if (!large && g->small[s])
		want = PAGE_ERR_EXISTS;
	else if (budget >= 0 && missing > budget)
		want = PAGE_ERR_NOMEM;
	if (budget >= 0)
		pool_fail_after(budget);
	got = large ? page_map_2m(pml4, va, pa, flags)
		    : page_map(pml4, va, pa, flags);
	pool_fail_off();
	CHECKF(got == want, "map%s %#lx: got %d, want %d", large ? "_2m" : "",
	       (unsigned long)va, got, want);
	if (got != 0)
		return;
	if (m_i4[r / (N3 * N2)] >= 256)
		model_pdpt_kept[r / (N3 * N2)] = true;
	if (large) {
		g->large = true;
		g->large_pa = pa;
		g->large_flags = flags;
	} else {
		g->small[s] = true;
		g->pa[s] = pa;
		g->flags[s] = flags;
	}
}

static void model_op_unmap_or_protect(uint64_t pml4, int r, bool protect)
{
	struct region *g = &model[r];
	int s = (int)(rng() % N1), want, got;
	uint64_t va = small_va(r, s), pa = 0;
	uint64_t flags = random_flags(g->large);

	if (g->large)
		want = s == 0 ? 0 : PAGE_ERR_ALIGN;  /* m_i1[0] == 0 */
	else
		want = g->small[s] ? 0 : PAGE_ERR_NOT_MAPPED;
	got = protect ? page_protect(pml4, va, flags)
		      : page_unmap(pml4, va, &pa);
	CHECKF(got == want, "%s %#lx: got %d, want %d",
	       protect ? "protect" : "unmap", (unsigned long)va, got, want);
	if (got != 0)
		return;
	if (g->large && protect) {
		g->large_flags = flags;
	} else if (g->large) {
		CHECK(pa == g->large_pa);
		g->large = false;
	} else if (protect) {
		g->flags[s] = flags;
	} else {
		CHECK(pa == g->pa[s]);
		g->small[s] = false;
	}
}

static void random_against_model(void)
{
	int base = frames_in_use;
	uint64_t pml4 = as_new();
	long ops = 5000, flushes = 0;

	memset(model, 0, sizeof model);
	memset(model_pdpt_kept, 0, sizeof model_pdpt_kept);
	for (long i = 0; i < ops && !check_case_failed; i++) {
		int r = (int)(rng() % NREGIONS), what = (int)(rng() % 100);
		long before = flush_count, budget = -1;

		if (rng() % 8 == 0)
			budget = (long)(rng() % 3);
		if (what < 40)
			model_op_map(pml4, r, false, budget);
		else if (what < 50)
			model_op_map(pml4, r, true, budget);
		else if (what < 80)
			model_op_unmap_or_protect(pml4, r, false);
		else
			model_op_unmap_or_protect(pml4, r, true);
		CHECKF(frames_in_use - base == model_tables(),
		       "op %ld: %d table frames, model says %d", i,
		       frames_in_use - base, model_tables());
		CHECK(flush_count - before <= 1);
		flushes += flush_count - before;
		model_check_region(pml4, r);
		if (i % 500 == 0)
			for (int q = 0; q < NREGIONS; q++)
				model_check_region(pml4, q);
	}
	CHECKF(flushes > ops / 4, "only %ld flushes", flushes);
	/* unmap everything that is left */
	for (int r = 0; r < NREGIONS; r++) {
		struct region *g = &model[r];

		if (g->large)
			EXPECT_ERR(page_unmap(pml4, region_va(r), NULL), 0);
		for (int s = 0; s < N1; s++)
			if (g->small[s])
				EXPECT_ERR(page_unmap(pml4, small_va(r, s),
						      NULL), 0);
	}
	memset(model, 0, sizeof model);
	CHECKF(frames_in_use - base == model_tables(),
	       "%d frames left, model says %d", frames_in_use - base,
	       model_tables());
	as_destroy(pml4);
	CHECKF(frames_in_use == base, "%d frames leaked",
	       frames_in_use - base);
}

/* ---- page_protect keeps what the CPU recorded -------------------- */

/* The CPU sets A when it uses an entry and D when it writes the page;
 * changing a page's rights must not forget either. */
static void protect_keeps_accessed_dirty(void)
{
	uint64_t pml4 = as_new(), va = make_va(7, 1, 2, 3);
	uint64_t big = make_va(7, 1, 4, 0);

	EXPECT_ERR(page_map(pml4, va, 0x5000, PTE_W), 0);
	EXPECT_ERR(page_map_2m(pml4, big, 0x400000, PTE_W), 0);
	*slot_of(pml4, va, 3) |= PTE_A | PTE_D;        /* as the CPU would */
	*slot_of(pml4, big, 2) |= PTE_A | PTE_D;
	EXPECT_ERR(page_protect(pml4, va, PTE_NX), 0);
	EXPECT_ERR(page_protect(pml4, big, PTE_NX), 0);
	EXPECT_TRANSLATE(pml4, va, 0x5000, PTE_P | PTE_NX | PTE_A | PTE_D,
			 PAGE_SIZE);
	EXPECT_TRANSLATE(pml4, big, 0x400000, PTE_P | PTE_NX | PTE_A | PTE_D,
			 PAGE_SIZE_2M);
	*slot_of(pml4, va, 3) &= ~PTE_D;               /* A alone stays too */
	EXPECT_ERR(page_protect(pml4, va, PTE_W), 0);
	EXPECT_TRANSLATE(pml4, va, 0x5000, PTE_P | PTE_W | PTE_A, PAGE_SIZE);
	EXPECT_ERR(page_unmap(pml4, va, NULL), 0);
	EXPECT_ERR(page_unmap(pml4, big, NULL), 0);
	as_destroy(pml4);
}

/* ---- The direct map (directmap.c) -------------------------------- */

#define DM_WINDOW 0xFFFFFF0000000000ull
#define DM_RAM (PTE_P | PTE_W | PTE_G | PTE_NX)

/* Translate every page of [base, end) through the window: each must
 * map its own frame. Returns how many are not. */
static int dm_missing(uint64_t pml4, uint64_t base, uint64_t end)
{
	int bad = 0;

	for (uint64_t p = base & ~(PAGE_SIZE - 1); p < end; p += PAGE_SIZE) {
		struct page_info in;

		if (page_translate(pml4, DM_WINDOW + p, &in) != 0 ||
		    in.phys != p)
			bad++;
	}
	return bad;
}

/* Unmap everything the direct map of r[0..n-1] put there. */
static void dm_unmap(uint64_t pml4, const struct mem_range *r, int n)
{
	for (int i = 0; i < n; i++)
		for (uint64_t p = r[i].base; p < r[i].end;) {
			struct page_info in;

			if (page_translate(pml4, DM_WINDOW + p, &in) != 0) {
				p += PAGE_SIZE;
				continue;
			}
			EXPECT_ERR(page_unmap(pml4, DM_WINDOW + p, NULL), 0);
			p += in.size;
		}
}

/* ACPI reclaimable memory up to 0x401FFC00, then ACPI NVS from there:
 * two RAM ranges that share the page at 0x401FF000. Mapped one after
 * the other, as chapter 02 once did, the first takes the whole 2 MiB
 * at 0x40000000 as one large page, and the second cannot map its first
 * page inside it. Coalesced first, both are mapped, with 2 MiB pages. */
static void directmap_ranges_share_a_page(void)
{
	const struct mem_range acpi[2] = {
		{ 0x40000000, 0x401FFC00, E820_ACPI },
		{ 0x401FFC00, 0x40400000, E820_NVS },
	};
	struct mem_range one[1] = { { 0x40000000, 0x40200000, E820_ACPI } };
	struct mem_range two[1] = { { 0x401FF000, 0x40400000, E820_NVS } };
	struct mem_range r[2] = { acpi[0], acpi[1] };
	uint64_t pml4 = as_new(), where = 0;
	int n;

	EXPECT_ERR(directmap_map(pml4, DM_WINDOW, one, 1, NULL, 0, DM_RAM,
				 &where), 0);
	EXPECT_ERR(directmap_map(pml4, DM_WINDOW, two, 1, NULL, 0, DM_RAM,
				 &where), PAGE_ERR_HUGE);
	CHECK(where == DM_WINDOW + 0x401FF000);
	dm_unmap(pml4, one, 1);

	n = directmap_coalesce(r, 2);
	CHECK(n == 1 && r[0].base == 0x40000000 && r[0].end == 0x40400000);
	EXPECT_ERR(directmap_map(pml4, DM_WINDOW, r, n, NULL, 0, DM_RAM,
				 &where), 0);
	CHECKF(dm_missing(pml4, acpi[0].base, acpi[1].end) == 0,
	       "%d pages not mapped", dm_missing(pml4, 0x40000000,
						 0x40400000));
	EXPECT_TRANSLATE(pml4, DM_WINDOW + 0x401FFC00, 0x401FFC00, DM_RAM,
			 PAGE_SIZE_2M);
	dm_unmap(pml4, r, n);
	as_destroy(pml4);
}

/* Sorting, widening to pages, merging what overlaps or touches. */
static void directmap_coalesce_cases(void)
{
	struct mem_range r[] = {
		{ 0x9000, 0x9800, 1 },         /* inside the next one's page */
		{ 0x200000, 0x300000, 1 },
		{ 0x1000, 0x2000, 1 },
		{ 0x2000, 0x3000, 4 },         /* touches: merged */
		{ 0x8800, 0x9400, 3 },         /* shares pages: merged */
		{ 0x5000, 0x5000, 1 },         /* empty: dropped */
		{ 0x250000, 0x260000, 1 },     /* contained */
		{ 0xFFFFFFFFFFFFF800ull, UINT64_MAX, 1 },  /* the last page */
	};
	const struct mem_range want[] = {
		{ 0x1000, 0x3000, 1 },
		{ 0x8000, 0xA000, 3 },
		{ 0x200000, 0x300000, 1 },
	};
	int n = directmap_coalesce(r, 8);

	/* The last one cannot be widened past 2^64 - 1: it ends up empty
	 * after rounding down, and is dropped. */
	CHECKF(n == 3, "%d ranges", n);
	for (int i = 0; i < n && i < 3; i++)
		CHECKF(r[i].base == want[i].base && r[i].end == want[i].end,
		       "range %d: %#lx-%#lx, want %#lx-%#lx", i,
		       (unsigned long)r[i].base, (unsigned long)r[i].end,
		       (unsigned long)want[i].base, (unsigned long)want[i].end);
	CHECK(directmap_coalesce(r, 0) == 0);
}

/* Areas get their flags on 4 KiB pages, an area with flags 0 stays a
 * hole, and a 2 MiB chunk that touches no area is one large page. */
static void directmap_areas_and_holes(void)
{
	const struct dm_area areas[] = {
		{ 0x100000, 0x102000, PTE_P | PTE_G },          /* "text" */
		{ 0x7F000, 0x80000, 0 },                       /* guard */
		{ 0xB8000, 0xC0000, DM_RAM | PTE_PAT },        /* "VGA" */
	};
	struct mem_range r[] = {
		{ 0, 0x9F000, E820_USABLE },
		{ 0xB8000, 0xC0000, E820_RESERVED },
		{ 0x100000, 0x400000, E820_USABLE },
	};
	uint64_t pml4 = as_new(), where = 0;
	int n = directmap_coalesce(r, 3);

	EXPECT_ERR(directmap_map(pml4, DM_WINDOW, r, n, areas, 3, DM_RAM,
				 &where), 0);
	EXPECT_TRANSLATE(pml4, DM_WINDOW + 0x1000, 0x1000, DM_RAM, PAGE_SIZE);
	EXPECT_TRANSLATE(pml4, DM_WINDOW + 0x101000, 0x101000,
			 PTE_P | PTE_G, PAGE_SIZE);
	EXPECT_TRANSLATE(pml4, DM_WINDOW + 0x102000, 0x102000, DM_RAM,
			 PAGE_SIZE);
	EXPECT_TRANSLATE(pml4, DM_WINDOW + 0xB8000, 0xB8000,
			 DM_RAM | PTE_PAT, PAGE_SIZE);
	EXPECT_TRANSLATE(pml4, DM_WINDOW + 0x200000, 0x200000, DM_RAM,
			 PAGE_SIZE_2M);
	CHECK(!is_mapped(pml4, DM_WINDOW + 0x7F000));       /* the hole */
	CHECK(!is_mapped(pml4, DM_WINDOW + 0xA0000));       /* not RAM */
	CHECK(dm_missing(pml4, 0, 0x7F000) == 0);
	CHECK(dm_missing(pml4, 0x80000, 0x9F000) == 0);
	dm_unmap(pml4, r, n);
	as_destroy(pml4);
}

/* A mapping already in the way is an error, with its address. */
static void directmap_reports_where(void)
{
	struct mem_range r[1] = { { 0x3000, 0x6000, E820_USABLE } };
	uint64_t pml4 = as_new(), where = 0;

	EXPECT_ERR(page_map(pml4, DM_WINDOW + 0x4000, 0x9000, 0), 0);
	EXPECT_ERR(directmap_map(pml4, DM_WINDOW, r, 1, NULL, 0, DM_RAM,
				 &where), PAGE_ERR_EXISTS);
	CHECK(where == DM_WINDOW + 0x4000);
	dm_unmap(pml4, r, 1);
	as_destroy(pml4);
}

/* ---------------------------------------------------------------- */

int main(void)
{
	ram = aligned_alloc(PAGE_SIZE, RAM_BYTES);
	snap_ram = malloc(RAM_BYTES);
	if (ram == NULL || snap_ram == NULL) {
		perror("test_paging");
		return 2;
	}
	memset(ram, POISON_FREE, RAM_BYTES);

	RUN(roundtrip_each_alone);
	RUN(roundtrip_all_together);
	RUN(translate_unmapped_each_level);
	RUN(tables_freed_when_empty);
	RUN(kernel_half_pdpt_kept);
	RUN(nonzero_entry_keeps_table);
	RUN(emptiness_search_sees_every_entry);
	RUN(new_tables_are_zeroed);
	RUN(flags_roundtrip_4k);
	RUN(flags_roundtrip_2m);
	RUN(intermediates_minimal);
	RUN(intermediate_user_upgrade);
	RUN(intermediate_write_and_nx_upgrade);
	RUN(protect_upgrades_intermediates);
	RUN(map_2m_translate_unmap);
	RUN(map_4k_under_2m_is_huge);
	RUN(map_2m_over_table_is_huge);
	RUN(huge_1g_handbuilt);
	RUN(bootloader_tables);
	out_of_frames();
	RUN(reject_noncanonical);
	RUN(reject_misaligned);
	RUN(reject_bad_flags);
	RUN(double_map_exists);
	RUN(unmap_not_mapped);
	RUN(tlb_flush_on_every_change);
	RUN(unmap_run_one_shootdown_a_batch);
	RUN(lock_held_by_every_operation);
	RUN(flags_string);
	RUN(strerror_all_codes);
	RUN(random_against_model);
	RUN(protect_keeps_accessed_dirty);
	RUN(directmap_ranges_share_a_page);
	RUN(directmap_coalesce_cases);
	RUN(directmap_areas_and_holes);
	RUN(directmap_reports_where);

	CASE("no_frames_leaked") {
		CHECKF(frames_in_use == 0, "%d frames still in use",
		       frames_in_use);
	}
	free(snap_ram);
	free(ram);
	return check_done("test_paging");
}
