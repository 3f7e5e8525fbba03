/*
 * frame_tests.c: the frame allocator's self-test inside the kernel,
 * run by the "boot" scenario (ktest.h) on every machine of the test
 * matrix; scenarios that misuse the allocator on purpose; and the
 * in-kernel benchmark.
 */
#include "boot_alloc.h"
#include "bootinfo.h"
#include "frame.h"
#include "fwmap.h"
#include "kprintf.h"
#include "ktest.h"
#include "memmap.h"
#include "paging.h"
#include "vm.h"
#include "x86.h"

/**
 * ## Every frame, once
 *
 * The host tests check the allocator against a model. This test checks
 * it against the real machine, on every memory size of the test matrix
 * (16 MiB to 6 GiB). It takes every frame there is, in runs, until not
 * even one frame is left, and checks each frame of each run:
 *
 * - it lies in a usable range of the memory map, above 1 MiB, so not
 *   in reserved memory, the kernel image or the boot data;
 * - it is not *busy*: not a live page table, not a page of a kernel
 *   stack, not the allocator's own table. Before taking anything, the
 *   test walks the kernel's page tables and marks those frames in a
 *   bitmap with one bit per frame number;
 * - it was not handed out before: a second bitmap says which ones were.
 *
 * The bitmaps are read and written 64 frames at a time, one 64-bit
 * word, and a run is held against the memory map one range at a time:
 * frame by frame, the checks alone took about a quarter of a second
 * under QEMU on a 6 GiB machine, in every boot of the matrix.
 *
 * Two more checks make sure no usable memory is lost on the way, say
 * a range the kernel forgot to add. Before taking anything, the number
 * of frames the allocator manages must be exactly the usable frames of
 * the map from 1 MiB up, less the frame table's own. And after taking
 * everything, every one of those frames must either have been handed
 * out or be busy.
 *
 * The runs taken are written down in a *record list*, one address and
 * length per run, so that they can all be given back. The two bitmaps
 * and the list are the test's scratch memory, runs of frames from the
 * allocator itself (64 frames hold a bitmap for 8 GiB), so they are
 * marked busy too. At the end, the counts must be exactly what they
 * were, and so must the number of free blocks of each size: a buddy
 * allocator that merges every pair of free buddies cuts a given set of
 * free frames into blocks in one way only.
 *
 * The test never writes into a frame it takes, for the reason the
 * allocator never writes into a free one (frame.c, "Why the links are
 * not in the free frames"): a single write per 4 MiB block would make
 * QEMU back half of the guest's RAM with host memory, on every boot of
 * the matrix. Its writes go to the scratch memory only.
 *
 * The runs are as long as the allocator allows. First comes one run
 * each of 1023, 511 ... 3 and 1 frames: lengths one short of a block,
 * which leave a tail behind that must go back on the free lists. Then
 * come runs of 1024 frames for as long as there are any, then of 512,
 * and so on down to single frames. Why not take every frame one by one?
 * A 6 GiB machine has a million and a half of them; under emulation
 * that takes seconds, and the record list would need 24 MiB. Taken in
 * runs, it is about 1,500 runs, and the list fits in a few frames.
 * (The `bench_frames` scenario below does take every frame one by one,
 * on a 2 GiB machine.)
 */
#define DIRECT_MAP_END (KERNEL_WINDOW + (512ull << 30))  /* one PML4 slot */

/* A run of frames the test takes for its own use. */
struct scratch {
	void *mem;              /* where the kernel reaches it */
	uint64_t phys, frames;  /* the run */
};

/* A cleared scratch run of at least `bytes` bytes, or -1. */
static int scratch_alloc(struct scratch *s, uint64_t bytes)
{
	uint8_t *p;

	s->frames = (bytes + FRAME_SIZE - 1) / FRAME_SIZE;
	if (s->frames == 0 || s->frames > FRAME_MAX_RUN ||
	    frame_alloc(s->frames, &s->phys) != 0)
		return -1;
	s->mem = p = pt_phys_to_virt(s->phys);
	for (uint64_t i = 0; i < s->frames * FRAME_SIZE; i++)
		p[i] = 0;
	return 0;
}

static void scratch_free(struct scratch *s)
{
	frame_free(s->phys, s->frames);
}

/* The mask of bits first % 64 .. first % 64 + n - 1 of one word.
 * Precondition: 0 < n <= 64 - first % 64. */
static uint64_t word_mask(uint64_t first, uint64_t n)
{
	return (n == 64 ? ~0ull : (1ull << n) - 1) << (first % 64);
}

/* Bits covering frame numbers first .. first + n - 1, a word at a
 * time: the first one set (its frame number), or UINT64_MAX. */
static uint64_t first_set(const struct scratch *b, uint64_t first,
			  uint64_t n)
{
	const uint64_t *w = b->mem;
	uint64_t end = first + n;

	while (first < end) {
		uint64_t take = 64 - first % 64, hit;

		if (take > end - first)
			take = end - first;
		hit = w[first / 64] & word_mask(first, take);
		if (hit)
			return first / 64 * 64 + __builtin_ctzll(hit);
		first += take;
	}
	return UINT64_MAX;
}

/* Set the bits of frame numbers first .. first + n - 1. */
static void set_bits(struct scratch *b, uint64_t first, uint64_t n)
{
	uint64_t *w = b->mem;
	uint64_t end = first + n;

	while (first < end) {
		uint64_t take = 64 - first % 64;

		if (take > end - first)
			take = end - first;
		w[first / 64] |= word_mask(first, take);
		first += take;
	}
}

static void set_bit(struct scratch *b, uint64_t phys)
{
	set_bits(b, phys / FRAME_SIZE, 1);
}

static void set_range(struct scratch *b, uint64_t base, uint64_t end)
{
	set_bits(b, base / FRAME_SIZE, (end - base) / FRAME_SIZE);
}

/* Frame numbers below the end of the highest usable range. */
static uint64_t frame_numbers(void)
{
	uint64_t end = 0;

	for (int i = 0; i < memmap_count; i++)
		if (memmap[i].type == E820_USABLE && memmap[i].end > end)
			end = memmap[i].end;
	return end / FRAME_SIZE;
}

/* A cleared bitmap for every frame number, or -1. Bit n is bit n % 64
 * of 64-bit word n / 64. */
static int bitmap_alloc(struct scratch *b)
{
	return scratch_alloc(b, (frame_numbers() + 63) / 64 * 8);
}

/* Mark the table at `table` (level 4: the PML4) and every table below
 * it busy, and the frames of 4 KiB pages mapped outside the direct map
 * (kernel stacks). The direct map covers all RAM, so its pages say
 * nothing about which frames are in use; nor does the firmware window
 * (chapter 06), whose pages are firmware's and devices', not RAM the
 * allocator hands out. */
static void mark_tables(struct scratch *busy, uint64_t table, int level,
			uint64_t va_base)
{
	const uint64_t *e = pt_phys_to_virt(table);
	uint64_t span = 1ull << (12 + 9 * (level - 1));

	set_bit(busy, table);
	for (int i = 0; i < PT_ENTRIES; i++) {
		uint64_t va = va_base + i * span;

		if (level == 4 && i >= 256)
			va |= 0xFFFF000000000000ull;   /* sign-extend */
		if (!(e[i] & PTE_P))
			continue;
		if (level == 1) {
			if ((va < KERNEL_WINDOW || va >= DIRECT_MAP_END) &&
			    fw_region_name(va) == NULL)
				set_bit(busy, e[i] & PTE_ADDR);
		} else if (!(e[i] & PTE_PS)) {
			mark_tables(busy, e[i] & PTE_ADDR, level - 1, va);
		}
	}
}

static void mark_scratch(struct scratch *busy, const struct scratch *s)
{
	set_range(busy, s->phys, s->phys + s->frames * FRAME_SIZE);
}

/* Mark every frame that is in use, except those this test takes. */
static void mark_busy(struct scratch *busy, const struct scratch *seen,
		      const struct scratch *records)
{
	struct frame_stats s;

	frame_get_stats(&s);
	mark_tables(busy, kernel_pml4, 4, 0);
	set_range(busy, s.table_phys, s.table_phys + s.table_bytes);
	for (unsigned i = 0; i < boot_alloc_runs(); i++) {   /* chapter 06 */
		uint64_t phys, count;

		boot_alloc_run(i, &phys, &count);
		set_bits(busy, phys / FRAME_SIZE, count);
	}
	mark_scratch(busy, busy);
	mark_scratch(busy, seen);
	mark_scratch(busy, records);
}

/* The first frame of [phys, end) that is not usable RAM above 1 MiB,
 * or end if they all are. A range of the map at a time. */
static uint64_t first_unusable(uint64_t phys, uint64_t end)
{
	while (phys < end) {
		uint64_t next = phys;

		for (int i = 0; i < memmap_count; i++)
			if (memmap[i].type == E820_USABLE &&
			    memmap[i].base <= phys &&
			    phys + FRAME_SIZE <= memmap[i].end)
				next = memmap[i].end / FRAME_SIZE * FRAME_SIZE;
		if (phys < LOW_MEMORY_END || next == phys)
			return phys;
		phys = next;
	}
	return end;
}

/* The usable frames of the map from 1 MiB up, first .. end - 1, of
 * range i; false if range i is not usable or has none. */
static bool usable_frames_of(int i, uint64_t *first, uint64_t *end)
{
	uint64_t base = memmap[i].base;

	if (memmap[i].type != E820_USABLE)
		return false;
	if (base < LOW_MEMORY_END)
		base = LOW_MEMORY_END;
	*first = (base + FRAME_SIZE - 1) / FRAME_SIZE;
	*end = memmap[i].end / FRAME_SIZE;
	return *first < *end;
}

/* The frames the allocator must manage: the usable frames of the map
 * from 1 MiB up, less the frame table's. */
static uint64_t frames_to_manage(const struct frame_stats *s)
{
	uint64_t table = s->table_phys / FRAME_SIZE;
	uint64_t table_end = table + s->table_bytes / FRAME_SIZE;
	uint64_t n = 0, first, end;

	for (int i = 0; i < memmap_count; i++) {
		if (!usable_frames_of(i, &first, &end))
			continue;
		n += end - first;
		if (table > first)
			first = table;
		if (table_end < end)
			end = table_end;
		if (first < end)
			n -= end - first;
	}
	return n;
}

/* The first usable frame from 1 MiB up that is neither seen nor busy,
 * or UINT64_MAX. A word of each bitmap at a time. */
static uint64_t first_missed(const struct scratch *busy,
			     const struct scratch *seen)
{
	const uint64_t *b = busy->mem, *s = seen->mem;
	uint64_t first, end;

	for (int i = 0; i < memmap_count; i++) {
		if (!usable_frames_of(i, &first, &end))
			continue;
		while (first < end) {
			uint64_t take = 64 - first % 64, miss;

			if (take > end - first)
				take = end - first;
			miss = ~(b[first / 64] | s[first / 64]) &
			       word_mask(first, take);
			if (miss)
				return first / 64 * 64 +
				       __builtin_ctzll(miss);
			first += take;
		}
	}
	return UINT64_MAX;
}

/* The record list: one entry per run taken. */
struct run_record {
	uint64_t phys;   /* the run's first frame */
	uint64_t count;  /* frames in it */
};

struct run_list {
	struct scratch mem;     /* the entries live here */
	uint64_t n, capacity;
	bool overflow;          /* a run was refused for want of room */
};

/**
 * How many runs can there be? The second phase takes every free block
 * whole, one run each, and no block it meets can be split, since it
 * goes from the largest size down. So it takes as many runs as there
 * are free blocks when it starts. Before that, the first phase takes
 * 10 runs, and each may leave up to 10 new free blocks behind (the
 * tail of the block it was cut from); the list's own allocation may
 * leave 10 more. So there are at most 120 runs more than there are
 * free blocks now. The list gets room for 128 more, and take_run()
 * still refuses to overflow it.
 */
#define RUN_SLACK 128

static int run_list_alloc(struct run_list *l)
{
	struct frame_stats s;
	uint64_t blocks = 0;

	frame_get_stats(&s);
	for (int order = 0; order <= FRAME_MAX_ORDER; order++)
		blocks += s.blocks[order];
	l->n = 0;
	l->capacity = blocks + RUN_SLACK;
	l->overflow = false;
	return scratch_alloc(&l->mem,
			     l->capacity * sizeof(struct run_record));
}

/* Take one run of `count` frames and record it; false if there is no
 * such run (or no room to record it). */
static bool take_run(struct run_list *l, uint64_t count)
{
	struct run_record *rec = l->mem.mem;
	uint64_t phys;

	if (l->n == l->capacity) {
		l->overflow = true;
		return false;
	}
	if (frame_alloc(count, &phys) != 0)
		return false;
	rec[l->n++] = (struct run_record){ phys, count };
	return true;
}

/* Take every frame there is: one run each of 1023, 511 ... 3 and 1
 * frames, then runs of 1024, 512 ... 1 frames for as long as there are
 * any. Returns the frames taken. */
static uint64_t take_everything(struct run_list *l)
{
	const struct run_record *rec = l->mem.mem;
	uint64_t frames = 0;

	for (uint64_t count = FRAME_MAX_RUN - 1; count > 0; count /= 2)
		take_run(l, count);
	for (uint64_t count = FRAME_MAX_RUN; count > 0; count /= 2)
		while (take_run(l, count))
			;
	for (uint64_t i = 0; i < l->n; i++)
		frames += rec[i].count;
	return frames;
}

/* Check every frame of every run; NULL or what went wrong. */
static const char *check_runs(const struct run_list *l,
			      const struct scratch *busy,
			      struct scratch *seen)
{
	const struct run_record *rec = l->mem.mem;

	for (uint64_t i = 0; i < l->n; i++) {
		uint64_t phys = rec[i].phys, count = rec[i].count;
		uint64_t end = phys + count * FRAME_SIZE, f;

		if ((f = first_unusable(phys, end)) != end)
			return ktest_why("frame %lx is not usable RAM",
					 (unsigned long)f);
		f = first_set(busy, phys / FRAME_SIZE, count);
		if (f != UINT64_MAX)
			return ktest_why("frame %lx is in use (page table, "
					 "stack or frame table)",
					 (unsigned long)(f * FRAME_SIZE));
		f = first_set(seen, phys / FRAME_SIZE, count);
		if (f != UINT64_MAX)
			return ktest_why("frame %lx handed out twice",
					 (unsigned long)(f * FRAME_SIZE));
		set_bits(seen, phys / FRAME_SIZE, count);
	}
	return NULL;
}

static void give_runs_back(const struct run_list *l)
{
	const struct run_record *rec = l->mem.mem;

	for (uint64_t i = 0; i < l->n; i++)
		frame_free(rec[i].phys, rec[i].count);
}

static bool same_blocks(const struct frame_stats *a,
			const struct frame_stats *b)
{
	for (int order = 0; order <= FRAME_MAX_ORDER; order++)
		if (a->blocks[order] != b->blocks[order])
			return false;
	return a->free == b->free && a->used == b->used;
}

static const char *every_frame_once(struct scratch *busy,
				    struct scratch *seen,
				    struct run_list *runs)
{
	struct frame_stats before, after;
	uint64_t frames, missed;
	const char *why;

	mark_busy(busy, seen, &runs->mem);
	frame_get_stats(&before);
	if (before.total != frames_to_manage(&before))
		return ktest_why("%lu frames managed, but the map has %lu "
				 "usable ones", (unsigned long)before.total,
				 (unsigned long)frames_to_manage(&before));
	frames = take_everything(runs);
	why = runs->overflow ? ktest_why("more than %lu runs",
					 (unsigned long)runs->capacity)
			     : check_runs(runs, busy, seen);
	if (!why && (frames != before.free || frame_free_count() != 0))
		why = ktest_why("took %lu frames of %lu free",
				(unsigned long)frames,
				(unsigned long)before.free);
	if (!why && (missed = first_missed(busy, seen)) != UINT64_MAX)
		why = ktest_why("usable frame %lx was neither handed out "
				"nor in use",
				(unsigned long)(missed * FRAME_SIZE));
	give_runs_back(runs);
	frame_get_stats(&after);
	if (!why && !same_blocks(&before, &after))
		why = ktest_why("%lu free, %lu used after; %lu, %lu before, "
				"or the free blocks differ",
				(unsigned long)after.free,
				(unsigned long)after.used,
				(unsigned long)before.free,
				(unsigned long)before.used);
	if (!why)
		kprintf("frames: took all %lu free frames, in %lu runs, and "
			"gave them back\n", (unsigned long)frames,
			(unsigned long)runs->n);
	return why;
}

SELFTEST(frames_every_frame_once)
{
	struct scratch busy, seen;
	struct run_list runs;
	const char *why;

	if (bitmap_alloc(&busy))
		return "no run of frames for a bitmap";
	if (bitmap_alloc(&seen)) {
		scratch_free(&busy);
		return "no run of frames for a bitmap";
	}
	if (run_list_alloc(&runs)) {
		scratch_free(&seen);
		scratch_free(&busy);
		return "no run of frames for the record list";
	}
	why = every_frame_once(&busy, &seen, &runs);
	scratch_free(&runs.mem);
	scratch_free(&seen);
	scratch_free(&busy);
	return why;
}

/**
 * ## Misuse on purpose
 *
 * Each scenario makes one mistake a kernel programmer can make. The
 * allocator must stop the kernel with a message that names the frame
 * (tests/frame.tests checks the messages).
 */
SCENARIO(frame_double_free, "free a frame twice: must panic")
{
	uint64_t phys;

	if (frame_alloc(1, &phys) != 0) {
		ktest_report("frame_double_free", "no frame");
		return;
	}
	kprintf("freeing frame 0x%lx twice\n", (unsigned long)phys);
	frame_free(phys, 1);
	frame_free(phys, 1);
	kprintf("survived a double free\n");
}

/* The kernel's first page of code: a frame frame_alloc() never hands
 * out, as a confused unmap might pass it on. */
SCENARIO(frame_free_kernel, "free a frame of the kernel: must panic")
{
	kprintf("freeing frame 0x%lx, the kernel's code\n",
		(unsigned long)KERNEL_PHYS);
	frame_free(KERNEL_PHYS, 1);
	kprintf("survived freeing the kernel\n");
}

/**
 * ## What a frame costs
 *
 * The `bench_frames` scenario takes every frame of the machine one at a
 * time and gives them all back, twice. It notes the frame numbers, 32
 * bits each, in an array of its own, one run of frames taken first,
 * and never writes into the frames it measures: that would make QEMU
 * back all of the guest's RAM with host memory, as "Every frame, once"
 * explains. It prints the cycles per frame (RDTSC) of the second
 * round: in the first, QEMU also pays for touching the array for the
 * first time. Under QEMU's TCG emulator these are emulated cycles, far
 * more than real ones. A figure, never a test: it fails only if the
 * counts do not come back. Booted with 2 GiB, that is about half a
 * million frames, and the array takes 2 MiB.
 */
static void bench_round(uint32_t *taken, uint64_t room, uint64_t *n,
			uint64_t *alloc, uint64_t *free)
{
	uint64_t phys, t0, t1, t2;

	*n = 0;
	t0 = rdtsc();
	while (*n < room && frame_alloc(1, &phys) == 0)
		taken[(*n)++] = (uint32_t)(phys >> FRAME_SHIFT);
	t1 = rdtsc();
	for (uint64_t i = *n; i > 0; i--)   /* the last taken first */
		frame_free((uint64_t)taken[i - 1] << FRAME_SHIFT, 1);
	t2 = rdtsc();
	*alloc = *n ? (t1 - t0) / *n : 0;
	*free = *n ? (t2 - t1) / *n : 0;
}

SCENARIO(bench_frames, "cycles per frame_alloc and frame_free (TSC)")
{
	uint64_t before = frame_free_count(), room, n, alloc, free;
	struct scratch array;

	if (scratch_alloc(&array, before * sizeof(uint32_t))) {
		ktest_report("bench_frames", "no run of frames for the array");
		return;
	}
	room = before - array.frames;
	bench_round(array.mem, room, &n, &alloc, &free);  /* warm-up */
	bench_round(array.mem, room, &n, &alloc, &free);
	scratch_free(&array);
	kprintf("BENCH frame_alloc %lu cycles/frame, frame_free %lu "
		"cycles/frame (all %lu frames, one at a time, TSC)\n",
		(unsigned long)alloc, (unsigned long)free, (unsigned long)n);
	ktest_report("bench_frames", n == room &&
		     frame_free_count() == before ? NULL :
		     "the counts did not come back");
}
