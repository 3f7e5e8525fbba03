/*
 * frame_tests.c: the frame allocator's self-test inside the kernel,
 * run by the "boot" scenario (ktest.h) on every machine of the test
 * matrix; scenarios that misuse the allocator on purpose; and the
 * in-kernel benchmark.
 */
#include "bootinfo.h"
#include "frame.h"
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
 * The two bitmaps are runs of frames from the allocator itself (64
 * frames cover 8 GiB), so they are marked busy too. The runs taken are
 * chained through their own first 16 bytes (the next run, and the run's
 * length), so giving them all back needs no array. At the end, the
 * counts must be exactly what they were, and so must the number of free
 * blocks of each size: a buddy allocator that merges every pair of free
 * buddies cuts a given set of free frames into blocks in one way only.
 *
 * The runs are as long as the allocator allows. First comes one run
 * each of 1023, 511 ... 3 and 1 frames: lengths one short of a block,
 * which leave a tail behind that must go back on the free lists. Then
 * come runs of 1024 frames for as long as there are any, then of 512,
 * and so on down to single frames. Why not take every frame one by one?
 * The allocator writes a free-list node into the first frame of every
 * free block it makes, and taking single frames splits every block down
 * to single frames: it would write into every frame of the machine. QEMU
 * then has to back all of the guest's memory with host memory, 6 GiB on
 * the largest machine of the matrix, which takes far too long for a test
 * that runs in every boot. Whole blocks are taken without splitting
 * anything. (The `bench_frames` scenario below does take every frame one
 * by one, on a 2 GiB machine.)
 */
#define LOW_MEMORY_END 0x100000
#define DIRECT_MAP_END (KERNEL_WINDOW + (512ull << 30))  /* one PML4 slot */

struct bitmap {
	uint8_t *bits;
	uint64_t phys, frames;  /* the run of frames holding it */
};

static bool test_bit(const struct bitmap *b, uint64_t phys)
{
	uint64_t n = phys / FRAME_SIZE;

	return b->bits[n / 8] & (1u << (n % 8));
}

static void set_bit(struct bitmap *b, uint64_t phys)
{
	uint64_t n = phys / FRAME_SIZE;

	b->bits[n / 8] |= (uint8_t)(1u << (n % 8));
}

static void set_range(struct bitmap *b, uint64_t base, uint64_t end)
{
	for (; base < end; base += FRAME_SIZE)
		set_bit(b, base);
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

/* A cleared bitmap for every frame number, or -1. */
static int bitmap_alloc(struct bitmap *b)
{
	uint64_t bytes = (frame_numbers() + 7) / 8;

	b->frames = (bytes + FRAME_SIZE - 1) / FRAME_SIZE;
	if (b->frames > FRAME_MAX_RUN || frame_alloc(b->frames, &b->phys))
		return -1;
	b->bits = pt_phys_to_virt(b->phys);
	for (uint64_t i = 0; i < b->frames * FRAME_SIZE; i++)
		b->bits[i] = 0;
	return 0;
}

static void bitmap_free(struct bitmap *b)
{
	frame_free(b->phys, b->frames);
}

/* Mark the table at `table` (level 4: the PML4) and every table below
 * it busy, and the frames of 4 KiB pages mapped outside the direct map
 * (kernel stacks). The direct map covers all RAM, so its pages say
 * nothing about which frames are in use. */
static void mark_tables(struct bitmap *busy, uint64_t table, int level,
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
			if (va < KERNEL_WINDOW || va >= DIRECT_MAP_END)
				set_bit(busy, e[i] & PTE_ADDR);
		} else if (!(e[i] & PTE_PS)) {
			mark_tables(busy, e[i] & PTE_ADDR, level - 1, va);
		}
	}
}

/* Mark every frame that is in use, except those this test takes. */
static void mark_busy(struct bitmap *busy, const struct bitmap *seen)
{
	struct frame_stats s;

	frame_get_stats(&s);
	mark_tables(busy, kernel_pml4, 4, 0);
	set_range(busy, s.table_phys, s.table_phys + s.table_bytes);
	set_range(busy, busy->phys, busy->phys + busy->frames * FRAME_SIZE);
	set_range(busy, seen->phys, seen->phys + seen->frames * FRAME_SIZE);
}

static bool in_usable_range(uint64_t phys)
{
	for (int i = 0; i < memmap_count; i++)
		if (memmap[i].type == E820_USABLE && memmap[i].base <= phys &&
		    phys + FRAME_SIZE <= memmap[i].end)
			return phys >= LOW_MEMORY_END;
	return false;
}

/* The first 16 bytes of each run taken. */
struct run_link {
	uint64_t next;   /* physical address of the next run, or 0 */
	uint64_t count;  /* frames in this run */
};

static struct run_link *link_of(uint64_t phys)
{
	return pt_phys_to_virt(phys);
}

/* Take one run of `count` frames onto the chain; false if there is
 * no such run. */
static bool take_run(uint64_t count, uint64_t *chain, uint64_t *frames,
		     uint64_t *runs)
{
	uint64_t phys;

	if (frame_alloc(count, &phys) != 0)
		return false;
	*link_of(phys) = (struct run_link){ *chain, count };
	*chain = phys;
	*frames += count;
	(*runs)++;
	return true;
}

/* Take every frame there is: one run each of 1023, 511 ... 3 and 1
 * frames, then runs of 1024, 512 ... 1 frames for as long as there are
 * any. Returns the chain of runs (0: none); *frames and *runs say how
 * many were taken. */
static uint64_t take_everything(uint64_t *frames, uint64_t *runs)
{
	uint64_t chain = 0;

	for (uint64_t count = FRAME_MAX_RUN - 1; count > 0; count /= 2)
		take_run(count, &chain, frames, runs);
	for (uint64_t count = FRAME_MAX_RUN; count > 0; count /= 2)
		while (take_run(count, &chain, frames, runs))
			;
	return chain;
}

/* Check every frame of every run; NULL or what went wrong. */
static const char *check_runs(uint64_t chain, const struct bitmap *busy,
			      struct bitmap *seen)
{
	for (; chain != 0; chain = link_of(chain)->next) {
		uint64_t end = chain + link_of(chain)->count * FRAME_SIZE;

		for (uint64_t f = chain; f < end; f += FRAME_SIZE) {
			if (!in_usable_range(f))
				return ktest_why("frame %lx is not usable RAM",
						 (unsigned long)f);
			if (test_bit(busy, f))
				return ktest_why("frame %lx is in use (page "
						 "table, stack or frame "
						 "table)", (unsigned long)f);
			if (test_bit(seen, f))
				return ktest_why("frame %lx handed out twice",
						 (unsigned long)f);
			set_bit(seen, f);
		}
	}
	return NULL;
}

static void give_runs_back(uint64_t chain)
{
	while (chain != 0) {
		struct run_link link = *link_of(chain);

		frame_free(chain, link.count);
		chain = link.next;
	}
}

static bool same_blocks(const struct frame_stats *a,
			const struct frame_stats *b)
{
	for (int order = 0; order <= FRAME_MAX_ORDER; order++)
		if (a->blocks[order] != b->blocks[order])
			return false;
	return a->free == b->free && a->used == b->used;
}

static const char *every_frame_once(struct bitmap *busy,
				    struct bitmap *seen)
{
	struct frame_stats before, after;
	uint64_t frames = 0, runs = 0, chain;
	const char *why;

	mark_busy(busy, seen);
	frame_get_stats(&before);
	chain = take_everything(&frames, &runs);
	why = check_runs(chain, busy, seen);
	if (!why && (frames != before.free || frame_free_count() != 0))
		why = ktest_why("took %lu frames of %lu free",
				(unsigned long)frames,
				(unsigned long)before.free);
	give_runs_back(chain);
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
			(unsigned long)runs);
	return why;
}

SELFTEST(frames_every_frame_once)
{
	struct bitmap busy, seen;
	const char *why;

	if (bitmap_alloc(&busy))
		return "no run of frames for a bitmap";
	if (bitmap_alloc(&seen)) {
		bitmap_free(&busy);
		return "no run of frames for a bitmap";
	}
	why = every_frame_once(&busy, &seen);
	bitmap_free(&seen);
	bitmap_free(&busy);
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
 * time, chained through their first 8 bytes, and gives them all back,
 * twice. It prints the cycles per frame (RDTSC) of the second round:
 * in the first, QEMU also pays for touching the guest's memory for the
 * first time. Under QEMU's TCG emulator these are emulated cycles, far
 * more than real ones. A figure, never a test: it fails only if the
 * counts do not come back. Booted with 2 GiB, that is about half a
 * million frames.
 */
static void bench_round(uint64_t *n, uint64_t *alloc, uint64_t *free)
{
	uint64_t chain = 0, phys, t0, t1, t2;

	*n = 0;
	t0 = rdtsc();
	while (frame_alloc(1, &phys) == 0) {
		*(uint64_t *)pt_phys_to_virt(phys) = chain;
		chain = phys;
		(*n)++;
	}
	t1 = rdtsc();
	while (chain != 0) {
		phys = chain;
		chain = *(uint64_t *)pt_phys_to_virt(phys);
		frame_free(phys, 1);
	}
	t2 = rdtsc();
	*alloc = *n ? (t1 - t0) / *n : 0;
	*free = *n ? (t2 - t1) / *n : 0;
}

SCENARIO(bench_frames, "cycles per frame_alloc and frame_free (TSC)")
{
	uint64_t before = frame_free_count(), n, alloc, free;

	bench_round(&n, &alloc, &free);       /* warm-up: touches memory */
	bench_round(&n, &alloc, &free);
	kprintf("BENCH frame_alloc %lu cycles/frame, frame_free %lu "
		"cycles/frame (all %lu frames, one at a time, TSC)\n",
		(unsigned long)alloc, (unsigned long)free, (unsigned long)n);
	ktest_report("bench_frames", n == before &&
		     frame_free_count() == before ? NULL :
		     "the counts did not come back");
}
