/*
 * test_frame.c: host unit tests for kernel/frame.c, the buddy frame
 * allocator, over 64 MiB of simulated physical memory.
 *
 * The file under test is included whole, so this is one program built
 * by one command (the Makefile's `make test` runs it):
 *
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Wall -Wextra -Werror -DHOST_TEST \
 *       -I kernel -o build/host/test_frame tests/host/test_frame.c
 *   build/host/test_frame
 *
 * The test provides the allocator's two hooks: pt_phys_to_virt() maps
 * a physical address into the simulated memory, and frame_panic()
 * jumps back into the test, which checks the message (panic_hook.h).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "panic_hook.h"
#include "../../kernel/frame.c"
#include "spinlock_host.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define RAM_BYTES (64 * MiB)
#define RAM_FRAMES (RAM_BYTES / FRAME_SIZE)

/* ---- The environment: simulated memory and the panic hook ---- */

static unsigned char *ram;  /* physical address p is ram[p] */

void *pt_phys_to_virt(uint64_t phys)
{
	if (phys >= RAM_BYTES) {
		printf("pt_phys_to_virt(0x%lx): outside simulated RAM\n",
		       phys);
		abort();
	}
	return ram + phys;
}

_Noreturn void frame_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	panic_hook(fmt, ap);
}

/* ---- The reference model ---- */

/**
 * ## The reference model
 *
 * The tests compare the allocator with a model that is too simple to
 * be wrong: one state per frame (hole, free or used) and a list of the
 * runs handed out. Every allocation must return frames that the model
 * says are free, and every count must agree with the model's.
 *
 * The model can also say exactly when an allocation *must* fail. A
 * buddy allocator finds a run of n frames only inside a free block of
 * 2^k >= n frames, and such blocks sit at multiples of their size. So
 * frame_alloc(n) succeeds if and only if some *window* of 2^k frames
 * starting at a multiple of 2^k is entirely free: after the merging,
 * such a window is always inside one free block. The model keeps, for
 * every order, how many frames of each window are free and how many
 * windows are full, so this check costs nothing per operation.
 */

enum { M_HOLE, M_FREE, M_USED };

static uint8_t model[RAM_FRAMES];
static uint64_t model_total, model_free;
static uint32_t *window_free[ORDERS];  /* per order: free frames in
                                           each aligned window */
static uint64_t full_windows[ORDERS];  /* per order: entirely free */

struct run {
	uint64_t phys, count;
};

static struct run live[RAM_FRAMES];  /* runs handed out */
static int nlive;

static void model_set(uint64_t frame, int state)
{
	int delta = (state == M_FREE) - (model[frame] == M_FREE);

	if (model[frame] == M_HOLE && state != M_HOLE)
		model_total++;
	model[frame] = (uint8_t)state;
	model_free += delta;
	for (int k = 0; k < ORDERS && delta != 0; k++) {
		uint32_t *w = &window_free[k][frame >> k];

		if (*w == 1u << k)
			full_windows[k]--;
		*w += delta;
		if (*w == 1u << k)
			full_windows[k]++;
	}
}

static void model_reset(void)
{
	memset(model, M_HOLE, sizeof model);
	model_total = model_free = 0;
	nlive = 0;
	for (int k = 0; k < ORDERS; k++) {
		if (window_free[k] == NULL)
			window_free[k] = malloc((RAM_FRAMES >> k) *
						sizeof(uint32_t));
		memset(window_free[k], 0, (RAM_FRAMES >> k) * sizeof(uint32_t));
		full_windows[k] = 0;
	}
}

/* ---- Booting the allocator over a map ---- */

struct range {
	uint64_t base, end;
};

static uint64_t round_up(uint64_t a)
{
	return (a + FRAME_SIZE - 1) & ~(FRAME_SIZE - 1);
}

static uint64_t meta_at;  /* where the last boot put the table */

/**
 * ## Free memory is left alone
 *
 * frame.c promises that the allocator writes to its table and nothing
 * else ("Where the bookkeeping lives"). To hold it to that, every boot
 * first fills all of simulated RAM with a pattern that differs from
 * word to word: the word at physical address a holds PATTERN ^ a. The
 * test itself writes only into runs it holds: alloc_checked() tags
 * each frame it gets, and release() puts the pattern back before it
 * frees the frame. So at any moment, every frame that is not handed
 * out and not part of the table must hold its pattern, every byte of
 * it: free frames, frames that were handed out and came back, and the
 * holes between the ranges. untouched_ok() checks exactly that, which
 * includes the frames that were never handed out at all.
 *
 * This replaces the use-after-free check word of the allocator's first
 * version. That word lived in the free frames, and it went with the
 * links that shared them (frame.c, "Catching mistakes").
 */
#define PATTERN 0x5061747465726e21ull  /* "Pattern!" */

static void pattern_fill(uint64_t base, uint64_t end)
{
	for (uint64_t a = base; a < end; a += 8)
		*(uint64_t *)(ram + a) = PATTERN ^ a;
}

/* Every frame that is neither handed out (in the model) nor the
 * table's still holds the pattern. */
static bool untouched_ok(void)
{
	for (uint64_t f = 0; f < RAM_FRAMES; f++) {
		uint64_t a = f * FRAME_SIZE;

		if (model[f] == M_USED ||
		    (a >= frame_pool.meta_base && a < frame_pool.meta_end))
			continue;
		for (; a < (f + 1) * FRAME_SIZE; a += 8)
			if (*(uint64_t *)(ram + a) != (PATTERN ^ a)) {
				CHECKF(0, "frame 0x%lx (%s) was written at "
				       "0x%lx", f, model[f] == M_FREE ?
				       "free" : "not managed", a);
				return false;
			}
	}
	return true;
}

/* The kernel's boot sequence (frame.c, "Starting up") with the table
 * at meta, or, if meta is 0, in the first range large enough. The
 * model gets every usable frame except the table's. */
static void boot_at(const struct range *r, int n, uint64_t meta)
{
	uint64_t max_phys = 0, bytes;

	for (int i = 0; i < n; i++)                           /* 1. */
		if (r[i].end > max_phys)
			max_phys = r[i].end;
	bytes = frame_meta_bytes(max_phys);
	for (int i = 0; i < n && meta == 0; i++)              /* 2. */
		if (r[i].end / FRAME_SIZE * FRAME_SIZE >= round_up(r[i].base) &&
		    r[i].end / FRAME_SIZE * FRAME_SIZE - round_up(r[i].base) >=
		    bytes)
			meta = round_up(r[i].base);
	if (meta == 0) {
		printf("no room for the frame table\n");
		abort();
	}
	pattern_fill(0, RAM_BYTES);  /* no help from zeroed memory */
	frame_init(max_phys, meta);                           /* 3. */
	for (int i = 0; i < n; i++)                           /* 4. */
		frame_init_range(r[i].base, r[i].end);
	meta_at = meta;

	model_reset();
	for (int i = 0; i < n; i++)
		for (uint64_t f = round_up(r[i].base) / FRAME_SIZE;
		     f < r[i].end / FRAME_SIZE; f++)
			if (f < meta / FRAME_SIZE ||
			    f >= (meta + bytes) / FRAME_SIZE)
				model_set(f, M_FREE);
}

static void boot(const struct range *r, int n)
{
	boot_at(r, n, 0);
}

/* The main map: frame 0 reserved, a range starting at frame 3, holes,
 * ends that are not multiples of anything, 4 MiB blocks in the middle;
 * the largest aligned piece is 8 MiB, 0x800000-0x1000000. */
static const struct range main_map[] = {
	{ 0x3000, 0x9F000 },
	{ 0x100000, 0x1F00000 },
	{ 0x2005000, 0x3FFD000 },
};

/* The largest block, and the smallest of the largest blocks the main
 * map can hold: the tests follow FRAME_MAX_ORDER (frame.h), whatever
 * it is set to. */
#define BLOCK_BYTES (FRAME_MAX_RUN * FRAME_SIZE)
#define MAIN_MAP_LARGEST (FRAME_MAX_RUN < 2048 ? FRAME_MAX_RUN : 2048)

/* One aligned range that is a single block of the largest order, at
 * 4 MiB or higher, and the table in a range of its own below it, of
 * exactly the table's size (6 frames for order 10), so that nothing
 * else is free. */
#define CLEAN_BASE (BLOCK_BYTES > 4 * MiB ? BLOCK_BYTES : 4 * MiB)

static void boot_clean_block(void)
{
	const struct range r[] = {
		{ 0x100000,
		  0x100000 + frame_meta_bytes(CLEAN_BASE + BLOCK_BYTES) },
		{ CLEAN_BASE, CLEAN_BASE + BLOCK_BYTES },
	};

	boot(r, N(r));
}

/* ---- Checking the allocator's insides ---- */

#define POOL_FAIL(...)                           \
	do {                                     \
		CHECKF(0, __VA_ARGS__);          \
		return false;                    \
	} while (0)

/* Walk one free list; mark its frames in seen. */
static bool list_ok(int order, uint8_t *seen, uint64_t *free)
{
	uint64_t size = 1ull << order, prev = NO_FRAME, n = 0;
	const struct frame_info *info = frame_pool.info;

	for (uint64_t f = frame_pool.head[order]; f != NO_FRAME;
	     f = info[f].next) {
		if (f >= frame_pool.nframes || n++ > RAM_FRAMES)
			POOL_FAIL("order %d: bad link 0x%lx", order, f);
		if (info[f].prev != prev)
			POOL_FAIL("order %d: bad back link at frame 0x%lx",
				  order, f);
		if (f % size != 0 || info[f].kind != FRAME_FREE_HEAD ||
		    info[f].frames != size)
			POOL_FAIL("order %d: bad block at frame 0x%lx", order,
				  f);
		if (order < FRAME_MAX_ORDER && is_free_block(f ^ size, order))
			POOL_FAIL("order %d: buddies 0x%lx and 0x%lx both "
				  "free", order, f, f ^ size);
		for (uint64_t g = f; g < f + size; g++) {
			if (seen[g] || model[g] != M_FREE)
				POOL_FAIL("frame 0x%lx: in two blocks, or not "
					  "free in the model", g);
			if (g > f && info[g].kind != FRAME_INSIDE)
				POOL_FAIL("frame 0x%lx: not INSIDE", g);
			seen[g] = 1;
		}
		prev = f;
	}
	if (n != frame_pool.blocks[order] ||
	    ((frame_pool.nonempty >> order) & 1) != (n > 0))
		POOL_FAIL("order %d: %lu blocks, counted %lu", order, n,
			  frame_pool.blocks[order]);
	*free += n * size;
	return true;
}

/* Everything the allocator keeps must agree with itself and with the
 * model: lists, table, counters, the runs handed out. */
static bool pool_ok(void)
{
	static uint8_t seen[RAM_FRAMES];
	const struct frame_info *info = frame_pool.info;
	uint64_t free = 0;

	memset(seen, 0, sizeof seen);
	for (int order = 0; order < ORDERS; order++)
		if (!list_ok(order, seen, &free))
			return false;
	if (free != frame_pool.free || free != model_free ||
	    frame_pool.total != model_total)
		POOL_FAIL("free %lu, counted %lu, model %lu; total %lu, "
			  "model %lu", frame_pool.free, free, model_free,
			  frame_pool.total, model_total);
	if (frame_free_count() + frame_used_count() != model_total)
		POOL_FAIL("free + used != total");
	for (uint64_t g = 0; g < RAM_FRAMES; g++) {
		if (model[g] == M_FREE && !seen[g])
			POOL_FAIL("frame 0x%lx: free but in no block", g);
		if (model[g] == M_HOLE && g < frame_pool.nframes &&
		    info[g].kind != FRAME_UNMANAGED)
			POOL_FAIL("frame 0x%lx: a hole, but managed", g);
		if (g < frame_pool.nframes &&
		    info[g].kind != FRAME_FREE_HEAD &&
		    (info[g].next != NO_FRAME || info[g].prev != NO_FRAME))
			POOL_FAIL("frame 0x%lx: links, but no free block", g);
	}
	for (int i = 0; i < nlive; i++) {
		uint64_t f = live[i].phys / FRAME_SIZE;

		if (info[f].kind != FRAME_RUN_HEAD ||
		    info[f].frames != live[i].count)
			POOL_FAIL("run at 0x%lx: bad head", live[i].phys);
		for (uint64_t g = f + 1; g < f + live[i].count; g++)
			if (info[g].kind != FRAME_INSIDE)
				POOL_FAIL("frame 0x%lx: bad run frame", g);
	}
	return true;
}

/* ---- Allocating and freeing through the model ---- */

#define TAG 0x7461676765646672ull  /* written into handed-out frames */

/* frame_alloc(count) checked against the model. Returns the run's
 * index in live[], or -1 if the allocation failed (as it must). */
static int alloc_checked(uint64_t count)
{
	uint64_t phys = 1, size = 1ull << order_for(count);
	int k = order_for(count);

	if (frame_alloc(count, &phys) != 0) {
		CHECKF(phys == 1, "failed frame_alloc wrote *phys");
		CHECKF(full_windows[k] == 0, "frame_alloc(%lu) failed, but a "
		       "free aligned window of %lu frames exists", count,
		       size);
		return -1;
	}
	CHECKF(phys % (size * FRAME_SIZE) == 0,
	       "run of %lu at 0x%lx: not aligned to %lu frames", count, phys,
	       size);
	for (uint64_t f = phys / FRAME_SIZE; f < phys / FRAME_SIZE + count;
	     f++) {
		if (f >= RAM_FRAMES || model[f] != M_FREE) {
			CHECKF(0, "run of %lu at 0x%lx: frame 0x%lx is %s",
			       count, phys, f, f >= RAM_FRAMES ? "outside RAM"
			       : model[f] == M_HOLE ? "not usable" : "in use");
			return -1;
		}
		model_set(f, M_USED);
		*(uint64_t *)(ram + f * FRAME_SIZE) = TAG ^ f;
	}
	CHECKF(frame_free_count() == model_free &&
	       frame_used_count() == model_total - model_free,
	       "counts %lu free %lu used, model %lu free of %lu",
	       frame_free_count(), frame_used_count(), model_free,
	       model_total);
	live[nlive] = (struct run){ phys, count };
	return nlive++;
}

/* Free run r, checking that nobody wrote into its frames, and put the
 * pattern back into them first (untouched_ok()). */
static void release(struct run r)
{
	for (uint64_t f = r.phys / FRAME_SIZE;
	     f < r.phys / FRAME_SIZE + r.count; f++) {
		CHECKF(*(uint64_t *)(ram + f * FRAME_SIZE) == (TAG ^ f),
		       "frame 0x%lx changed while handed out", f);
		model_set(f, M_FREE);
	}
	pattern_fill(r.phys, r.phys + r.count * FRAME_SIZE);
	frame_free(r.phys, r.count);
	CHECKF(frame_free_count() == model_free &&
	       frame_used_count() == model_total - model_free,
	       "counts %lu free %lu used, model %lu free of %lu",
	       frame_free_count(), frame_used_count(), model_free,
	       model_total);
}

/* Free live[i] and drop it from the list. */
static void free_checked(int i)
{
	struct run r = live[i];

	live[i] = live[--nlive];
	release(r);
}

/* ---- Random numbers (fixed seed: every run is the same) ---- */

/* rnd() and below() come from check.h. */

static void free_all_live(void)
{
	while (nlive > 0)
		free_checked((int)below((uint64_t)nlive));
}

/* The free blocks per order, to compare before and after. */
static void blocks_now(uint64_t *b)
{
	for (int k = 0; k < ORDERS; k++)
		b[k] = frame_pool.blocks[k];
}

static bool same_blocks(const uint64_t *a, const uint64_t *b)
{
	return memcmp(a, b, ORDERS * sizeof *a) == 0;
}

/* ---- The cases ---- */

static void meta_bytes(void)
{
	CHECK(frame_meta_bytes(0) == 0);
	CHECK(frame_meta_bytes(1) == FRAME_SIZE);
	CHECK(frame_meta_bytes(4096) == FRAME_SIZE);
	CHECK(frame_meta_bytes(341 * FRAME_SIZE) == FRAME_SIZE);  /* 4092 */
	CHECK(frame_meta_bytes(342 * FRAME_SIZE) == 2 * FRAME_SIZE);
	CHECK(frame_meta_bytes(64 * MiB) == 192 * KiB);
	CHECK(frame_meta_bytes(1024 * MiB) == 3 * MiB);  /* 0.3% */
	CHECK(frame_meta_bytes(8192 * MiB) == 24 * MiB);
}

static void init_counts(void)
{
	struct frame_stats s;

	boot(main_map, N(main_map));
	CHECK(meta_at == 0x3000);  /* the first range large enough */
	CHECK(frame_used_count() == 0);
	CHECK(frame_free_count() == model_total);
	CHECK(model_total == (0x9F - 0x3 - 48) + (0x1F00 - 0x100) +
	      (0x3FFD - 0x2005));
	frame_get_stats(&s);
	CHECK(s.total == model_total && s.free == model_total && s.used == 0);
	CHECK(s.largest == MAIN_MAP_LARGEST);
	for (int k = 0; k < ORDERS; k++)
		CHECK(s.blocks[k] == frame_pool.blocks[k]);
	CHECK(pool_ok());
	CHECK(untouched_ok());  /* booting wrote the table only */
}

/* The table's frames are not handed out, and are not "managed". */
static void table_not_managed(void)
{
	boot(main_map, N(main_map));
	for (uint64_t f = 0x3; f < 0x33; f++)  /* 48 frames */
		CHECKF(frame_pool.info[f].kind == FRAME_UNMANAGED &&
		       model[f] == M_HOLE, "frame 0x%lx", f);
	CHECK(frame_pool.info[0x33].kind == FRAME_FREE_HEAD);
}

/* A range that starts at frame 3 is cut into aligned blocks 1, 4, 8,
 * 16, 32; after a full allocate and free the same blocks come back:
 * nothing merged across the one-frame hole at frame 0x40. */
static void odd_ranges_stay_apart(void)
{
	static const struct range map[] = {
		{ 0x3000, 0x40000 }, { 0x41000, 0x80000 },
		{ 0x100000, 0x200000 },
	};
	static const uint64_t heads[][2] = {  /* frame, size */
		{ 0x3, 1 }, { 0x4, 4 }, { 0x8, 8 }, { 0x10, 16 },
		{ 0x20, 32 }, { 0x41, 1 }, { 0x42, 2 }, { 0x44, 4 },
		{ 0x48, 8 }, { 0x50, 16 }, { 0x60, 32 },
	};
	uint64_t before[ORDERS], after[ORDERS];

	boot_at(map, N(map), 0x1FE000);  /* table: the last 2 frames */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N(heads); i++)
			CHECKF(frame_pool.info[heads[i][0]].kind ==
			       FRAME_FREE_HEAD &&
			       frame_pool.info[heads[i][0]].frames ==
			       heads[i][1], "round %d: no block of %lu at "
			       "frame 0x%lx", round, heads[i][1], heads[i][0]);
		CHECK(pool_ok());
		blocks_now(before);
		while (alloc_checked(1 + below(8)) >= 0)
			;
		while (alloc_checked(1) >= 0)
			;
		CHECK(frame_free_count() == 0);
		free_all_live();
		blocks_now(after);
		CHECK(same_blocks(before, after));
	}
	CHECK(pool_ok() && untouched_ok());
}

/* Ranges that touch are one stretch of RAM: blocks span the seam. */
static void touching_ranges_merge(void)
{
	static const struct range map[] = {
		{ 0x100000, 0x180000 }, { 0x180000, 0x200000 },
		{ 0x400000, 0x404000 },  /* room for the table */
	};
	struct frame_stats s;

	boot_at(map, N(map), 0x400000);
	frame_get_stats(&s);
	CHECK(s.largest == 256 && s.blocks[8] == 1);
	CHECK(pool_ok());
}

/* A range added after allocations merges with its free neighbours:
 * the first half of a largest block and its last frame, then the rest
 * in between, make one block of the largest order. */
static void late_range(void)
{
	const struct range map[] = {
		{ 0x100000,       /* the table, exactly */
		  0x100000 + frame_meta_bytes(CLEAN_BASE + BLOCK_BYTES) },
		{ CLEAN_BASE, CLEAN_BASE + BLOCK_BYTES / 2 },
		{ CLEAN_BASE + BLOCK_BYTES - FRAME_SIZE,
		  CLEAN_BASE + BLOCK_BYTES },
	};
	uint64_t mid = CLEAN_BASE + BLOCK_BYTES / 2;
	uint64_t last = CLEAN_BASE + BLOCK_BYTES - FRAME_SIZE;
	struct frame_stats s;

	boot(map, N(map));
	CHECK(alloc_checked(5) >= 0);
	frame_init_range(mid, last);
	for (uint64_t f = mid / FRAME_SIZE; f < last / FRAME_SIZE; f++)
		model_set(f, M_FREE);
	CHECK(frame_free_count() == FRAME_MAX_RUN - 5);
	CHECK(pool_ok());
	free_all_live();
	frame_get_stats(&s);
	CHECK(s.largest == FRAME_MAX_RUN && s.blocks[FRAME_MAX_ORDER] == 1 &&
	      s.free == s.total);
	CHECK(pool_ok() && untouched_ok());
}

/* The run is exactly as long as asked; the tail stays free. */
static void exact_runs(void)
{
	uint64_t p, q, r;

	boot_clean_block();
	CHECK(meta_at == 0x100000);
	CHECK(frame_pool.blocks[FRAME_MAX_ORDER] == 1 &&
	      frame_free_count() == FRAME_MAX_RUN);
	CHECK(frame_alloc(3, &p) == 0 && p == CLEAN_BASE);
	CHECK(frame_free_count() == FRAME_MAX_RUN - 3);
	CHECK(frame_alloc(1, &q) == 0 && q == CLEAN_BASE + 0x3000);  /* 4th */
	CHECK(frame_alloc(1, &r) == 0 && r == CLEAN_BASE + 0x4000);
	frame_free(q, 1);
	frame_free(p, 3);
	frame_free(r, 1);
	CHECK(frame_pool.blocks[FRAME_MAX_ORDER] == 1 &&
	      frame_free_count() == FRAME_MAX_RUN);
	/* A freed frame is the next one handed out. */
	CHECK(frame_alloc(1, &p) == 0 && frame_alloc(1, &q) == 0);
	frame_free(p, 1);
	CHECK(frame_alloc(1, &r) == 0 && r == p);
	frame_free(r, 1);
	frame_free(q, 1);
	CHECK(frame_pool.blocks[FRAME_MAX_ORDER] == 1);
}

/* Every run size from 1 to the largest the main map holds, each alone:
 * aligned, exact counts, and the same free blocks as before once it is
 * freed. One more frame than that fails and changes nothing. */
static void every_run_size(void)
{
	uint64_t before[ORDERS], after[ORDERS], base, p = 7;

	boot(main_map, N(main_map));
	blocks_now(before);
	base = frame_free_count();
	for (uint64_t count = 1; count <= MAIN_MAP_LARGEST; count++) {
		int i = alloc_checked(count);

		CHECKF(i >= 0, "frame_alloc(%lu) failed", count);
		if (i < 0)
			return;
		CHECKF(frame_free_count() == base - count &&
		       frame_used_count() == count, "count %lu", count);
		if (count % 97 == 1)
			CHECK(pool_ok());
		free_checked(i);
		blocks_now(after);
		CHECKF(same_blocks(before, after) &&
		       frame_free_count() == base, "after count %lu", count);
	}
	CHECK(frame_alloc(0, &p) == -1 && p == 7);
	CHECK(frame_alloc(MAIN_MAP_LARGEST + 1, &p) == -1 && p == 7);
	CHECK(frame_alloc(FRAME_MAX_RUN + 1, &p) == -1 && p == 7);
	CHECK(frame_alloc(UINT64_MAX, &p) == -1 && p == 7);
	CHECK(pool_ok() && untouched_ok());
}

/* All single frames; free every other one (by address): no 2-frame
 * run exists. Free one neighbour: exactly that pair is found. Free
 * the rest: everything merges back. */
static int by_address(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	return x->phys < y->phys ? -1 : x->phys > y->phys;
}

static void fragmentation(void)
{
	uint64_t before[ORDERS], after[ORDERS], half, pair, p;
	struct frame_stats s;
	int i, n;

	boot(main_map, N(main_map));
	blocks_now(before);
	while (alloc_checked(1) >= 0)
		;
	CHECK(frame_free_count() == 0 && (uint64_t)nlive == model_total);
	qsort(live, (size_t)nlive, sizeof live[0], by_address);
	half = 0;
	for (i = 0, n = nlive, nlive = 0; i < n; i++) {
		if (i % 2 == 0) {
			release(live[i]);
			half++;
		} else {
			live[nlive++] = live[i];
		}
	}
	frame_get_stats(&s);
	CHECK(s.largest == 1 && s.blocks[0] == half);
	CHECK(pool_ok());
	CHECK(alloc_checked(2) == -1);
	/* Free a used frame whose buddy is free: one pair appears. */
	for (i = 0; i < nlive; i++) {
		uint64_t f = live[i].phys / FRAME_SIZE;

		if (model[f ^ 1] == M_FREE)
			break;
	}
	CHECK(i < nlive);
	pair = live[i].phys & ~(2 * FRAME_SIZE - 1);
	free_checked(i);
	i = alloc_checked(2);
	CHECK(i >= 0 && live[i].phys == pair);
	CHECK(alloc_checked(2) == -1);
	CHECK(pool_ok());
	free_all_live();
	blocks_now(after);
	CHECK(same_blocks(before, after));
	frame_get_stats(&s);
	CHECK(s.largest == MAIN_MAP_LARGEST && s.free == s.total);
	CHECK(frame_alloc(MAIN_MAP_LARGEST, &p) == 0);
	frame_free(p, MAIN_MAP_LARGEST);
	CHECK(pool_ok() && untouched_ok());
}

/* Allocate runs of 1 to 64 frames until not even one frame is left,
 * then free everything in random order, twice: the counts and the
 * free blocks come back exactly to what they were after boot. */
static void exhaustion(void)
{
	uint64_t before[ORDERS], after[ORDERS], base_free;

	boot(main_map, N(main_map));
	blocks_now(before);
	base_free = frame_free_count();
	for (int round = 0; round < 2; round++) {
		int n = 0;

		while (alloc_checked(1 + below(64)) >= 0 ||
		       alloc_checked(1) >= 0)
			n++;
		CHECK(frame_free_count() == 0 &&
		      frame_used_count() == base_free);
		CHECK(pool_ok());
		CHECK(n > 100);
		free_all_live();
		blocks_now(after);
		CHECK(same_blocks(before, after) &&
		      frame_free_count() == base_free &&
		      frame_used_count() == 0);
	}
	CHECK(pool_ok() && untouched_ok());
}

/**
 * ## The randomized test
 *
 * 150,000 operations with a fixed seed. Each allocates a run of 1 to
 * 64 frames (half of them one frame, as in a kernel) or frees a random
 * run handed out earlier. The mix changes every 3,000 operations,
 * in turn: mostly allocating; allocating almost only, and retrying a
 * failed request with one frame, so that memory fills up to the last
 * frame; mostly freeing. Every operation is checked against the model
 * (frames free, inside the usable ranges, aligned, never handed out
 * twice, counts exact, failure exactly when no window is free); every
 * 1,000 operations all of the allocator's lists and its table are
 * checked too, and at the end all of RAM is held against the pattern.
 */
#define RANDOM_OPS 150000

static void random_sequences(void)
{
	static const int alloc_percent[3] = { 70, 98, 30 };
	uint64_t ops, fails = 0, full = 0;

	boot(main_map, N(main_map));
	for (ops = 0; ops < RANDOM_OPS; ops++) {
		int mode = (int)(ops / 3000 % 3);
		bool alloc = nlive == 0 ||
			     below(100) < (uint64_t)alloc_percent[mode];

		if (alloc) {
			uint64_t count = below(2) ? 1 : 1 + below(64);

			if (alloc_checked(count) < 0) {
				fails++;
				if (mode == 1 && count > 1)
					alloc_checked(1);
			}
		} else {
			free_checked((int)below((uint64_t)nlive));
		}
		full += frame_free_count() == 0;
		if (ops % 1000 == 0 && !pool_ok())
			break;
		if (check_case_failed)
			break;
	}
	CHECKF(ops == RANDOM_OPS, "stopped after %lu operations", ops);
	/* Guard against a generator that never fills memory. */
	CHECKF(fails > 1000 && full > 100, "weak generator: %lu failures, "
	       "memory full after %lu operations", fails, full);
	free_all_live();
	CHECK(pool_ok() && frame_free_count() == model_total);
	CHECK(untouched_ok());
}

/* Every call takes the frame lock once and lets it go, failures and
 * misuse reports included (spinlock_host.h aborts on a lock taken
 * twice, so a report that left it held would end the next case). */
static void lock_taken_and_released(void)
{
	uint64_t a, n, bad = CLEAN_BASE + 0x800;
	struct frame_stats s;

	boot_clean_block();
	n = frame_pool.lock.acquired;
	CHECK(frame_alloc(1, &a) == 0);
	CHECK(frame_pool.lock.acquired == n + 1 && !frame_pool.lock.locked);
	CHECK(frame_alloc(FRAME_MAX_RUN + 1, &a) == -1);    /* refused */
	CHECK(frame_alloc(FRAME_MAX_RUN, &a) == -1);        /* no room */
	CHECK(frame_pool.lock.acquired == n + 2);
	frame_get_stats(&s);
	(void)frame_used_count();
	CHECK(frame_pool.lock.acquired == n + 4);
	EXPECT_PANIC(frame_free(bad, 1), "free of address 0x%lx, which is "
		     "not the start of a frame", bad);
	CHECK(!frame_pool.lock.locked);
	frame_free(CLEAN_BASE, 1);
	CHECK(frame_pool.lock.acquired == n + 6 && !frame_pool.lock.locked);
	CHECK(pool_ok());
}

static void double_free_detected(void)
{
	uint64_t even, odd, run, free_before;

	boot_clean_block();
	CHECK(frame_alloc(1, &even) == 0 && frame_alloc(1, &odd) == 0);
	CHECK(even == CLEAN_BASE && odd == CLEAN_BASE + 0x1000);
	frame_free(odd, 1);   /* stays a block of its own */
	EXPECT_PANIC(frame_free(odd, 1), "double free of frame 0x%lx", odd);
	frame_free(even, 1);  /* merges: both are inside the largest block */
	EXPECT_PANIC(frame_free(even, 1), "double free of frame 0x%lx", even);
	EXPECT_PANIC(frame_free(odd, 1), "double free of frame 0x%lx", odd);
	CHECK(frame_alloc(5, &run) == 0);
	frame_free(run, 5);
	EXPECT_PANIC(frame_free(run, 5), "double free of frame 0x%lx", run);
	/* Nothing changed: the state is still whole. */
	free_before = frame_free_count();
	CHECK(free_before == FRAME_MAX_RUN &&
	      frame_pool.blocks[FRAME_MAX_ORDER] == 1);
	CHECK(pool_ok());
}

/**
 * A double free is caught only while the frame is still free. Once
 * frame_alloc() has handed it out again, and the lists make that
 * likely (the block freed last is the first one taken), the stale free
 * looks exactly like a free by the new owner: it is accepted, and the
 * frame is free while its new owner still uses it. The panic comes, if
 * at all, when the new owner frees it, and names the wrong culprit.
 * This test pins the gap down, so that closing it is noticed.
 */
static void double_free_after_reuse_not_detected(void)
{
	uint64_t a, b;

	boot_clean_block();
	CHECK(frame_alloc(1, &a) == 0);
	frame_free(a, 1);
	CHECK(frame_alloc(1, &b) == 0);
	CHECK(b == a);        /* the same frame, handed out again */
	frame_free(a, 1);     /* the stale free: accepted, no panic */
	CHECK(frame_free_count() == FRAME_MAX_RUN && frame_used_count() == 0);
	EXPECT_PANIC(frame_free(b, 1), "double free of frame 0x%lx", b);
	CHECK(pool_ok());
}

/* The end of the message for a frame the allocator does not manage. */
#define UNMANAGED "that was never allocated (the allocator does not " \
	"manage it: a hole, reserved memory, the kernel, the frame " \
	"table, or below 1 MiB)"

static void never_allocated_detected(void)
{
	uint64_t p, inside;

	boot(main_map, N(main_map));
	EXPECT_PANIC(frame_free(0, 1), "free of frame 0x0 %s", UNMANAGED);
	EXPECT_PANIC(frame_free(0xA0000, 1), "free of frame 0xa0000 %s",
		     UNMANAGED);
	EXPECT_PANIC(frame_free(meta_at, 1), "free of frame 0x3000 %s",
		     UNMANAGED);
	EXPECT_PANIC(frame_free(0x40000000, 1), "free of frame 0x40000000 %s",
		     UNMANAGED);
	EXPECT_PANIC(frame_free(0x1000000, 1), "free of frame 0x1000000, "
		     "which is free and was never the first frame of a run");
	EXPECT_PANIC(frame_free(0x1000800, 1), "free of address 0x1000800, "
		     "which is not the start of a frame");
	CHECK(frame_alloc(8, &p) == 0);
	inside = p + 3 * FRAME_SIZE;
	EXPECT_PANIC(frame_free(inside, 1), "free of frame 0x%lx, which is "
		     "inside the run of 8 frames at 0x%lx", inside, p);
	frame_free(p, 8);
	CHECK(frame_free_count() == model_total);
	CHECK(pool_ok());
}

static void wrong_count_detected(void)
{
	uint64_t p, q;

	boot(main_map, N(main_map));
	CHECK(frame_alloc(4, &p) == 0 && frame_alloc(3, &q) == 0);
	EXPECT_PANIC(frame_free(p, 3), "free of 3 frames at 0x%lx "
		     "allocated as 4", p);
	EXPECT_PANIC(frame_free(q, 4), "free of 4 frames at 0x%lx "
		     "allocated as 3", q);
	EXPECT_PANIC(frame_free(q, 0), "free of 0 frames at 0x%lx "
		     "allocated as 3", q);
	CHECK(frame_used_count() == 7);
	frame_free(p, 4);
	frame_free(q, 3);
	CHECK(frame_used_count() == 0);
	CHECK(pool_ok());
}

/**
 * ## Never a write into free memory, under load
 *
 * The boot must leave all of RAM but the table as it was. Then come
 * 200,000 random operations in which one allocation in four asks for
 * 1 to FRAME_MAX_RUN frames and the rest for 1 to 8, so that blocks of every
 * order are split and merged again and again. The operations go in
 * phases of 5,000: one fills memory to the last frame (a failed request
 * is retried with one frame), the next empties most of it. All of RAM
 * is held against the pattern every 10,000 operations and once more
 * when every run has been given back.
 */
#define UNTOUCHED_OPS 200000

static void free_memory_untouched(void)
{
	uint64_t ops, full = 0;

	boot(main_map, N(main_map));
	CHECK(untouched_ok());
	for (ops = 0; ops < UNTOUCHED_OPS && !check_case_failed; ops++) {
		bool filling = ops / 5000 % 2 == 0;

		if (nlive == 0 || below(100) < (filling ? 90u : 25u)) {
			uint64_t count = below(4) ? 1 + below(8) :
						    1 + below(FRAME_MAX_RUN);

			if (alloc_checked(count) < 0 && filling)
				alloc_checked(1);
		} else {
			free_checked((int)below((uint64_t)nlive));
		}
		full += frame_free_count() == 0;
		if (ops % 10000 == 0 && !untouched_ok())
			break;
	}
	CHECKF(ops == UNTOUCHED_OPS, "stopped after %lu operations", ops);
	CHECKF(full > 100, "weak generator: memory full after only %lu "
	       "operations", full);
	free_all_live();
	CHECK(untouched_ok());
	CHECK(pool_ok() && frame_free_count() == model_total);
}

/* The allocator no longer notices a write into a free frame (frame.c,
 * "Catching mistakes"), but the write cannot hurt it either: nothing
 * it keeps lives there. */
static void use_after_free_harmless(void)
{
	uint64_t p, q;

	boot_clean_block();
	CHECK(frame_alloc(1, &p) == 0 && p == CLEAN_BASE);
	frame_free(p, 1);
	memset(ram + CLEAN_BASE, 0, BLOCK_BYTES);  /* the whole free block */
	CHECK(pool_ok());
	CHECK(frame_alloc(1, &q) == 0 && q == p);
	frame_free(q, 1);
	CHECK(pool_ok() && frame_pool.blocks[FRAME_MAX_ORDER] == 1);
}

static void init_misuse_detected(void)
{
	boot(main_map, N(main_map));
	EXPECT_PANIC(frame_init_range(0x9E000, 0xA0000),
		     "frame 0x9e000 is added twice");
	EXPECT_PANIC(frame_init_range(0x3F00000, 0x4000000),
		     "usable range 0x3f00000-0x4000000 ends above max_phys "
		     "0x3ffd000");
	EXPECT_PANIC(frame_init(0x4000000, 0x3800), "frame table at 0x3800 "
		     "is not frame-aligned");
	/* 2^32 frames: one too many for the 32-bit links. */
	EXPECT_PANIC(frame_init(1ull << 44, meta_at), "memory up to "
		     "0x100000000000 is more than the 16 TiB the frame table "
		     "can link");
	CHECK(pool_ok());  /* none of that changed anything */
	frame_init_range(0x9F800, 0xA0000);  /* no whole frame: nothing */
	frame_init_range(0x5000, 0x5000);
	CHECK(pool_ok());
	/* Before frame_init(): nothing to allocate, nothing to free. */
	memset(&frame_pool, 0, sizeof frame_pool);
	{
		uint64_t p = 7;

		CHECK(frame_alloc(1, &p) == -1 && p == 7);
		CHECK(frame_free_count() == 0 && frame_used_count() == 0);
	}
	EXPECT_PANIC(frame_free(0x100000, 1), "free of frame 0x100000 %s",
		     UNMANAGED);
	EXPECT_PANIC(frame_init_range(0x100000, 0x200000),
		     "frame_init_range() before frame_init()");
}

int main(void)
{
	check_seed(0x9E3779B97F4A7C15ull);
	ram = aligned_alloc(FRAME_SIZE, RAM_BYTES);
	if (ram == NULL) {
		perror("aligned_alloc");
		return 2;
	}
	RUN(meta_bytes);
	RUN(init_counts);
	RUN(table_not_managed);
	RUN(odd_ranges_stay_apart);
	RUN(touching_ranges_merge);
	RUN(late_range);
	RUN(exact_runs);
	RUN(every_run_size);
	RUN(fragmentation);
	RUN(exhaustion);
	RUN(random_sequences);
	RUN(lock_taken_and_released);
	RUN(double_free_detected);
	RUN(double_free_after_reuse_not_detected);
	RUN(never_allocated_detected);
	RUN(wrong_count_detected);
	RUN(free_memory_untouched);
	RUN(use_after_free_harmless);
	RUN(init_misuse_detected);
	free(ram);
	for (int k = 0; k < ORDERS; k++)
		free(window_free[k]);
	return check_done("test_frame");
}
