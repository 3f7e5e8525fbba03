/*
 * frame.c: the physical frame allocator, a buddy allocator over the
 * usable ranges of the memory map. It frees, merges and recycles runs
 * of frames in a bounded number of steps.
 *
 * Pure logic: it reaches memory only through pt_phys_to_virt(),
 * reports misuse through frame_panic() (both declared in frame.h) and
 * takes its lock with spin_lock(), so the host tests
 * (tests/host/test_frame.c) compile this very file.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "spinlock.h"

/**
 * ## Frames, and who hands them out
 *
 * Physical memory is handed out in *frames*: 4 KiB pieces that start
 * at a multiple of 4 KiB, the unit a page-table entry points at. Frame
 * number `n` is the frame at physical address `n * 4096`, so a frame's
 * number is its address shifted right by 12 bits. The kernel needs
 * frames for page tables, kernel stacks and its heap, later for every
 * page of every program, and it must get them back when they are no
 * longer needed. Chapter 02 had a bump allocator with a stack of freed
 * frames on top: freed frames came back one at a time, a run of
 * several frames was always cut from memory never used before, and
 * freed neighbours never joined up again. This file replaces it with a
 * buddy allocator: first its design, its table and its invariants, then
 * the code, allocation and freeing first. Why the design is this one,
 * Redox 0.3.5's allocator and the measurements that decided against
 * it and against the classic free list, comes at the end of the file.
 *
 * ## Our design: a buddy allocator
 *
 * Free memory is kept as *blocks* of 2^k frames, where k, the block's
 * *order*, runs from 0 (one frame) to FRAME_MAX_ORDER = 10 (1024
 * frames, 4 MiB). A block of order k always starts at a frame number
 * that is a multiple of 2^k. There is one list of free blocks per
 * order.
 *
 * **Allocating** n frames takes a block from the lowest non-empty list
 * of order k with 2^k >= n. A 32-bit mask with one bit per non-empty
 * list finds that order in one instruction (count trailing zeros). The
 * first n frames of the block become the caller's *run*; the rest are
 * given back. For one frame out of a 4 MiB block, the rest is 1023
 * frames, which fall into free blocks of 1, 2, 4, ..., 512 frames:
 * the block has been *split* in halves, keeping the lower half each
 * time.
 *
 * **Freeing** a block of order k asks whether its *buddy* is free: the
 * other half of the block of order k+1 that contains both. Because
 * blocks sit at multiples of their size, the two halves differ in
 * exactly one bit of the frame number, bit k: the buddy of block `f`
 * is `f ^ (1 << k)`. (In bytes: the two addresses differ only in bit
 * 12 + k.) No search is needed. If the buddy is a free block of the
 * same order, it leaves its list, the two become one block of order
 * k+1 starting at the lower of the two, and the question is asked
 * again one order up. Otherwise the block goes on its list. So two
 * free buddies of the same order never stay apart, and memory that is
 * all free again is back in blocks as large as its ranges allow.
 *
 * **Runs of any length, not just powers of two.** Many buddy
 * allocators round a request up to a power of two and hand out the
 * whole block. Asking for 3 frames would then cost 4, and asking for
 * 513 would cost 1024, nearly half of it wasted. Here a run is exactly
 * as long as asked: the unused tail of the block is split into free
 * blocks at once (the 4th frame of a 3-frame request stays free), and
 * frame_free() splits a run back into blocks the same way before
 * merging them. The price is a frame count in the state table (below)
 * instead of just an order. Runs of more than one frame are rare
 * anyway (page tables, stacks and most other users ask for one frame),
 * and each run starts at a multiple of its size rounded up to a power
 * of two, which a device or a 2 MiB page may need.
 *
 * **Why 10 for FRAME_MAX_ORDER?** The largest run the kernel can get is
 * 2^10 frames, 4 MiB. That covers what this kernel asks for: 2 MiB
 * runs for large pages (order 9), a 256 KiB stack, a DMA buffer.
 * Larger orders would only add lists, and a run of 4 MiB or more of
 * *physically* contiguous memory is almost never needed: large kernel
 * buffers are made contiguous in virtual memory instead. At boot, a
 * 2 GiB range becomes about 500 blocks of order 10 and a few smaller
 * ones at its ends.
 *
 * **Merging never crosses a hole.** The usable ranges of the memory map
 * do not start or end on nice boundaries: one may start at frame 3.
 * frame_init_range() cuts each range into the largest blocks whose
 * alignment fits, from the bottom up: for a range starting at frame 3,
 * that is one frame at 3, four at 4, eight at 8, and so on. A buddy is
 * merged only if the state table says it is the first frame of a
 * *free* block of the same order. Frames outside the usable ranges
 * (holes, reserved memory, the kernel image, the boot data, the
 * allocator's own table) are never free, so a block next to a hole
 * waits forever for a buddy that cannot come, and the allocator can
 * never hand out a frame it was not given. Two ranges that touch are
 * simply one stretch of RAM, and blocks may span the seam.
 */

/**
 * ## Where the bookkeeping lives
 *
 * The allocator needs no heap. All it knows is in `frame_pool` (list
 * heads and counters, a few hundred bytes) and in one *state table*
 * with a 12-byte `struct frame_info` for every frame, from frame 0 up
 * to the end of the highest RAM range. An entry says two things:
 *
 * - whether the frame is managed at all, and whether it is the first
 *   frame of a free block or of a run handed out (with that block's or
 *   run's length), or a frame inside one. That is how the allocator
 *   checks a buddy in O(1), and how it recognises a bad free;
 * - for the first frame of a free block, the frame numbers of the next
 *   and the previous free block of the same order. These links *are*
 *   the free lists. They are doubly linked so that a buddy can leave
 *   the middle of its list in O(1) when it merges.
 *
 * A link is a 32-bit frame number. That reaches 2^32 frames, 16 TiB of
 * physical addresses, minus one value (all ones) that means "none";
 * frame_init() refuses a machine with more, which is far beyond what
 * this kernel can map anyway (vm.c stops at 512 GiB). The limit that
 * bites first is the table's place: it must fit below 1 GiB
 * (frame_setup.c), which allows about 340 GiB of RAM.
 *
 * **The invariant: the allocator never touches a frame it manages.**
 * Adding a range, splitting, merging, allocating, freeing: each of them
 * changes `frame_pool` and the table and nothing else. A free frame
 * keeps whatever bytes it had, and a run handed out holds what its
 * last owner left there. The host tests prove it: they fill simulated
 * RAM with a pattern, run long random sequences, and find the pattern
 * intact in every frame that is not handed out at the time, including
 * every frame that never was (tests/host/test_frame.c, "Free memory is
 * left alone").
 *
 * **What the table costs.** 12 bytes per 4 KiB frame: 3 MiB per GiB of
 * physical address space (0.3%), holes below the top included. A 2 GiB
 * machine needs 6 MiB. A 6 GiB q35 machine puts 4 GiB of its RAM above
 * the 4 GiB line, so its RAM ends at 8 GiB and its table is 24 MiB.
 * The state alone would take 4 bytes, 1 MiB per GiB; the two links are
 * the other 8. They sit in the same entry as the state, not in a second
 * array beside it. Both cost the same bytes, but a merge reads a
 * buddy's state and then its links, which one entry keeps side by side,
 * and one table is one region to place, clear, and keep out of the
 * free memory.
 */

/**
 * ## Catching mistakes
 *
 * Every free is checked against the state table before anything
 * changes, and a wrong one stops the kernel through `frame_panic()`
 * with a message that names the frame:
 *
 * - "double free of frame 0x1234000": the frame is already free, and
 *   frame_alloc() once returned it (but see below: only while it is
 *   still free);
 * - "free of frame 0x... that was never allocated (the allocator does
 *   not manage it: ...)": the frame is in no range the kernel added (a
 *   hole, reserved memory, the kernel image, the frame table, or memory
 *   below 1 MiB);
 * - "free of frame 0x..., which is free and was never the first frame
 *   of a run": the frame is free, and frame_alloc() never returned it
 *   (it may have been inside a longer run, which only its first frame
 *   can free);
 * - "free of frame 0x..., which is inside the run of 8 frames at
 *   0x...": a run must be freed from its first frame;
 * - "free of 3 frames at 0x... allocated as 4": the count differs from
 *   the one frame_alloc() was asked for.
 *
 * **What it does not catch: a double free after reuse.** The table
 * knows only a frame's present state. A double free is caught while
 * the frame is still free; once frame_alloc() has handed it out again,
 * which is likely, since the block freed last is the first one taken,
 * the stale free looks exactly like a free by the new owner. It is
 * accepted, the frame is free while its new owner uses it, and the
 * panic comes, if at all, when the new owner frees it. Catching it
 * would need to know which caller owns a run, which frame_free() is
 * not told (tests/host/test_frame.c,
 * `double_free_after_reuse_not_detected`).
 *
 * **Nor writes into a free frame.** The first version of this
 * allocator kept a check word in each free block, next to the links,
 * and stopped with "written to while free" when a block came off its
 * list with the word changed: a cheap alarm for code that
 * keeps using a frame after freeing it. It went with the links. Left
 * in the frame, the word would be a write into every free block, the
 * very cost measured at the end of this file; moved into the table, it
 * would guard the table, which such code never writes to. So a use
 * after free goes unnoticed here. It cannot derail the allocator any
 * more, because nothing the allocator reads lives in a free frame, but
 * the frame's next owner gets the stray bytes. A debugging mode that
 * fills freed runs with a pattern and checks it on the next allocation
 * would find such code, at the price of touching all memory (an
 * exercise in the README).
 *
 * ## What it costs
 *
 * | operation | steps |
 * |---|---|
 * | `frame_alloc` | one list lookup, then at most 10 blocks for the tail |
 * | `frame_free` | popcount(count) <= 10 blocks, each merged <= 10 times |
 * | counts | O(1): two counters kept up to date |
 * | `frame_init` | clears the table once: O(frames), at boot |
 *
 * None of these depends on how much memory there is or how fragmented
 * it is: the bounds come from FRAME_MAX_ORDER alone. One frame, the
 * common case, costs a list pop to allocate and a list push plus at
 * most 10 buddy checks to free.
 */

/**
 * ## The code: the table, then the lists, merging, alloc and free
 *
 * First the data structure. `struct frame_info` is one entry of the
 * state table, 12 bytes, checked at compile time; `frame_pool` is the
 * rest of the allocator's state. `head[k]` starts the list of free
 * blocks of order k, and bit k of `nonempty` says whether that list has
 * a block, which is what lets frame_alloc() find a list in one
 * instruction.
 */
/* What the state table says about one frame. */
enum frame_kind {
	FRAME_UNMANAGED,  /* not in a usable range: never handed out */
	FRAME_INSIDE,     /* in a free block or a run, but not its first */
	FRAME_FREE_HEAD,  /* first frame of a free block */
	FRAME_RUN_HEAD,   /* first frame of a run handed out */
};

/* One entry of the state table. next and prev mean something only in
 * a FRAME_FREE_HEAD entry. */
struct frame_info {
	uint8_t kind;           /* enum frame_kind */
	uint8_t was_allocated;  /* 1 once frame_alloc() returned this frame;
	                           never cleared (tells a double free from a
	                           free of a frame never handed out) */
	uint16_t frames;        /* for a head: frames in its block or run */
	uint32_t next;          /* next free block of the same order, by
	                           frame number, or NO_FRAME */
	uint32_t prev;          /* the previous one, or NO_FRAME */
};

_Static_assert(sizeof(struct frame_info) == 12,
	       "the table costs 12 bytes per frame");

#define NO_FRAME UINT32_MAX  /* no block: the end of a list */
#define ORDERS   (FRAME_MAX_ORDER + 1)

/* All of the allocator's state. gdb: `print frame_pool`. */
static struct frame_pool {
	struct spinlock lock;     /* protects everything below ("Every CPU
	                             at once", at the end of the code) */
	struct frame_info *info;  /* the state table; info[n]: frame n */
	uint64_t nframes;         /* frames the table covers */
	uint64_t meta_base;       /* the table's own physical bytes */
	uint64_t meta_end;
	uint32_t head[ORDERS];    /* first free block of each order */
	uint64_t blocks[ORDERS];  /* free blocks of each order */
	uint32_t nonempty;        /* bit k set: head[k] is a block */
	uint64_t total;           /* frames managed */
	uint64_t free;            /* frames in free blocks */
} frame_pool = { .lock = SPINLOCK_INIT("frames") };

static uint64_t phys_of(uint64_t frame)
{
	return frame << FRAME_SHIFT;
}

/**
 * ### The free lists
 *
 * A list is threaded through the table entries of its blocks' first
 * frames: `next` and `prev` are frame numbers, NO_FRAME ends the list.
 * Pushing puts a block at the front; unlinking takes it out from
 * anywhere, which a merge needs, since the buddy may sit in the middle
 * of its list. Both keep the counters and the `nonempty` mask right, so
 * every count the allocator reports is O(1).
 */
/* ---- The free lists ---- */

/* Put the free block at frame on the list of its order. */
static void list_push(uint64_t frame, int order)
{
	struct frame_info *info = frame_pool.info;
	uint32_t first = frame_pool.head[order];

	info[frame].next = first;
	info[frame].prev = NO_FRAME;
	if (first != NO_FRAME)
		info[first].prev = (uint32_t)frame;
	frame_pool.head[order] = (uint32_t)frame;
	frame_pool.nonempty |= 1u << order;
	frame_pool.blocks[order]++;
	frame_pool.free += 1ull << order;
}

/* Take the free block at frame off the list of its order. */
static void list_unlink(uint64_t frame, int order)
{
	struct frame_info *info = frame_pool.info;
	uint32_t next = info[frame].next, prev = info[frame].prev;

	if (prev != NO_FRAME)
		info[prev].next = next;
	else
		frame_pool.head[order] = next;
	if (next != NO_FRAME)
		info[next].prev = prev;
	info[frame].next = info[frame].prev = NO_FRAME;
	if (frame_pool.head[order] == NO_FRAME)
		frame_pool.nonempty &= ~(1u << order);
	frame_pool.blocks[order]--;
	frame_pool.free -= 1ull << order;
}

/**
 * ### Merging, and cutting a range into blocks
 *
 * buddy_merge() is the loop of "Freeing" above: the buddy of the block
 * at `frame` is `frame ^ (1 << order)`; while it is a free block of the
 * same order, it leaves its list and the two become one block of the
 * next order, at the lower address. range_free() frees any stretch of
 * frames, a whole usable range at boot or the tail of a block after an
 * allocation, by cutting it into the largest blocks its alignment and
 * length allow (fit_order()) and merging each.
 */
/* ---- Splitting and merging ---- */

/* Is frame the first frame of a free block of this order? */
static bool is_free_block(uint64_t frame, int order)
{
	return frame < frame_pool.nframes &&
	       frame_pool.info[frame].kind == FRAME_FREE_HEAD &&
	       frame_pool.info[frame].frames == 1u << order;
}

/* Free the block of 2^order frames at frame, merging it with its buddy
 * as long as the buddy is free. Precondition: the block's frames are
 * all FRAME_INSIDE in the table. */
static void buddy_merge(uint64_t frame, int order)
{
	while (order < FRAME_MAX_ORDER) {
		uint64_t buddy = frame ^ (1ull << order);

		if (!is_free_block(buddy, order))
			break;
		list_unlink(buddy, order);
		frame_pool.info[buddy].kind = FRAME_INSIDE;
		frame &= ~(1ull << order);  /* the lower of the two */
		order++;
	}
	frame_pool.info[frame].kind = FRAME_FREE_HEAD;
	frame_pool.info[frame].frames = (uint16_t)(1u << order);
	list_push(frame, order);
}

/* The order of the largest block that starts at frame first and ends
 * at or before frame end (first < end): limited both by first's
 * alignment (its trailing zero bits) and by the room left (the highest
 * bit set in end - first). */
static int fit_order(uint64_t first, uint64_t end)
{
	int order = FRAME_MAX_ORDER;
	int room = 63 - __builtin_clzll(end - first);

	if (first != 0 && __builtin_ctzll(first) < order)
		order = __builtin_ctzll(first);
	return room < order ? room : order;
}

/* Free the frames first .. end-1, cut into the largest aligned blocks
 * that fit. Precondition: they are all FRAME_INSIDE. */
static void range_free(uint64_t first, uint64_t end)
{
	while (first < end) {
		int order = fit_order(first, end);

		buddy_merge(first, order);
		first += 1ull << order;
	}
}

/**
 * ### Allocating and freeing a run
 *
 * frame_alloc() shifts the `nonempty` mask so that only lists with
 * blocks large enough remain, takes the lowest such order (count
 * trailing zeros), unlinks that list's first block and marks its first
 * frame as the head of a run of `count` frames. The rest of the block
 * goes straight back through range_free(). frame_free() accepts only
 * exactly what frame_alloc() returned, a run head with the same count;
 * anything else goes to free_misuse(), which works out what the caller
 * did wrong and stops with that message ("Catching mistakes" above).
 */
/* ---- Allocating and freeing ---- */

/* The smallest order whose blocks hold count frames. */
static int order_for(uint64_t count)
{
	int order = 0;

	while ((1ull << order) < count)
		order++;
	return order;
}

int frame_alloc(uint64_t count, uint64_t *phys)
{
	struct frame_info *info;
	uint32_t fits;
	uint64_t frame;
	int order;

	if (count == 0 || count > FRAME_MAX_RUN)
		return -1;
	spin_lock(&frame_pool.lock);
	/* The non-empty lists whose blocks are large enough. */
	order = order_for(count);
	fits = frame_pool.nonempty >> order << order;
	if (fits == 0) {
		spin_unlock(&frame_pool.lock);
		return -1;
	}
	order = __builtin_ctz(fits);  /* the lowest such order */
	frame = frame_pool.head[order];
	list_unlink(frame, order);

	info = &frame_pool.info[frame];
	info->kind = FRAME_RUN_HEAD;
	info->frames = (uint16_t)count;
	info->was_allocated = 1;
	range_free(frame + count, frame + (1ull << order));  /* the tail */
	spin_unlock(&frame_pool.lock);
	*phys = phys_of(frame);
	return 0;
}

/* Explain why frame_free(phys, count) is wrong, and stop. Slow, but
 * only ever run once. Called without the lock (frame_free() lets go
 * first): it only reads, and the kernel stops after it. */
static _Noreturn void free_misuse(uint64_t phys, uint64_t count)
{
	const struct frame_info *info = frame_pool.info;
	uint64_t frame = phys >> FRAME_SHIFT, head;

	if (phys % FRAME_SIZE != 0)
		frame_panic("free of address 0x%lx, which is not the start "
			    "of a frame", phys);
	if (frame >= frame_pool.nframes ||
	    info[frame].kind == FRAME_UNMANAGED)
		frame_panic("free of frame 0x%lx that was never allocated "
			    "(the allocator does not manage it: a hole, "
			    "reserved memory, the kernel, the frame table, "
			    "or below 1 MiB)", phys);
	if (info[frame].kind == FRAME_RUN_HEAD)
		frame_panic("free of %lu frames at 0x%lx allocated as %u",
			    count, phys, (unsigned)info[frame].frames);
	/* Find the block or run holding the frame: its first frame is
	 * the nearest one below that is not FRAME_INSIDE. */
	for (head = frame; info[head].kind == FRAME_INSIDE; head--)
		;
	if (info[head].kind == FRAME_RUN_HEAD)
		frame_panic("free of frame 0x%lx, which is inside the run of "
			    "%u frames at 0x%lx", phys,
			    (unsigned)info[head].frames, phys_of(head));
	if (info[frame].was_allocated)
		frame_panic("double free of frame 0x%lx", phys);
	frame_panic("free of frame 0x%lx, which is free and was never the "
		    "first frame of a run", phys);
}

void frame_free(uint64_t phys, uint64_t count)
{
	uint64_t frame = phys >> FRAME_SHIFT;

	spin_lock(&frame_pool.lock);
	if (phys % FRAME_SIZE != 0 || frame >= frame_pool.nframes ||
	    frame_pool.info[frame].kind != FRAME_RUN_HEAD ||
	    frame_pool.info[frame].frames != count) {
		spin_unlock(&frame_pool.lock);
		free_misuse(phys, count);
	}
	frame_pool.info[frame].kind = FRAME_INSIDE;
	range_free(frame, frame + count);
	spin_unlock(&frame_pool.lock);
}

/* One word each, read whole: a count of a moment ago, without the
 * lock. */
uint64_t frame_free_count(void)
{
	return __atomic_load_n(&frame_pool.free, __ATOMIC_RELAXED);
}

uint64_t frame_used_count(void)
{
	uint64_t used;

	spin_lock(&frame_pool.lock);
	used = frame_pool.total - frame_pool.free;
	spin_unlock(&frame_pool.lock);
	return used;
}

void frame_get_stats(struct frame_stats *s)
{
	spin_lock(&frame_pool.lock);
	s->total = frame_pool.total;
	s->free = frame_pool.free;
	s->used = frame_pool.total - frame_pool.free;
	s->table_phys = frame_pool.meta_base;
	s->table_bytes = frame_pool.meta_end - frame_pool.meta_base;
	s->largest = 0;
	for (int order = 0; order < ORDERS; order++) {
		s->blocks[order] = frame_pool.blocks[order];
		if (frame_pool.blocks[order] > 0)
			s->largest = 1ull << order;
	}
	spin_unlock(&frame_pool.lock);
}

/**
 * ## Starting up, and why there is no "noncore" phase
 *
 * The table is the only memory the allocator needs, and its size
 * depends only on the highest address that may ever be usable. So at
 * boot:
 *
 * 1. `frame_meta_bytes(max_phys)` says how many bytes the table needs;
 * 2. the kernel (frame_setup.c) picks that many bytes, frame-aligned,
 *    in the first usable range above 1 MiB that is big enough, which is
 *    low in memory and therefore inside the part of the direct map that
 *    the bootloader built;
 * 3. `frame_init(max_phys, place)` clears the table and the lists;
 * 4. `frame_init_range(base, end)` adds each usable range. It leaves
 *    out the table's own frames by itself, so the kernel simply passes
 *    every usable range, and it may add more later, for instance boot
 *    data that is no longer needed.
 *
 * From then on, alloc and free both work fully, from the very first
 * call: there is nothing to grow and nothing to switch on later, so
 * there is no `noncore` flag and no frame freed early is lost. The
 * allocator never allocates memory for itself, so it can never call
 * itself while it holds the frame lock, which was Redox's deadlock.
 *
 * Step 4 writes to the table only, so a range can be added before any
 * page table maps it. The allocator puts no order on the ranges; the
 * kernel still adds the memory above 1 GiB after vm_init(), for a
 * reason of vm_init()'s own (frame_setup.c).
 *
 * The allocator takes its own lock inside each call ("Every CPU at
 * once", above), and that lock can never be taken twice by one CPU:
 * nothing in this file calls back into the kernel, except
 * frame_panic(), which does not return.
 */

/* ---- Starting up ---- */

/* Frames from 0 up to (not including) the one holding byte max_phys,
 * rounded up: the frames the table must cover. */
static uint64_t frames_below(uint64_t max_phys)
{
	return max_phys / FRAME_SIZE + (max_phys % FRAME_SIZE != 0);
}

uint64_t frame_meta_bytes(uint64_t max_phys)
{
	uint64_t bytes = frames_below(max_phys) * sizeof(struct frame_info);

	return frames_below(bytes) * FRAME_SIZE;
}

/* Precondition: nobody uses the frame_* functions yet (boot CPU). */
void frame_init(uint64_t max_phys, uint64_t meta_phys)
{
	if (meta_phys % FRAME_SIZE != 0)
		frame_panic("frame table at 0x%lx is not frame-aligned",
			    meta_phys);
	if (frames_below(max_phys) > NO_FRAME)  /* the links' limit */
		frame_panic("memory up to 0x%lx is more than the 16 TiB the "
			    "frame table can link", max_phys);
	frame_pool.info = pt_phys_to_virt(meta_phys);
	frame_pool.nframes = frames_below(max_phys);
	frame_pool.meta_base = meta_phys;
	frame_pool.meta_end = meta_phys + frame_meta_bytes(max_phys);
	for (uint64_t frame = 0; frame < frame_pool.nframes; frame++)
		frame_pool.info[frame] = (struct frame_info){
			.kind = FRAME_UNMANAGED,
			.next = NO_FRAME,
			.prev = NO_FRAME,
		};
	for (int order = 0; order < ORDERS; order++) {
		frame_pool.head[order] = NO_FRAME;
		frame_pool.blocks[order] = 0;
	}
	frame_pool.nonempty = 0;
	frame_pool.total = 0;
	frame_pool.free = 0;
}

/* Add the frames first .. end-1 (none of them the table's). */
static void frames_add(uint64_t first, uint64_t end)
{
	spin_lock(&frame_pool.lock);
	for (uint64_t frame = first; frame < end; frame++)
		if (frame_pool.info[frame].kind != FRAME_UNMANAGED) {
			spin_unlock(&frame_pool.lock);
			frame_panic("frame 0x%lx is added twice",
				    phys_of(frame));
		}
	for (uint64_t frame = first; frame < end; frame++)
		frame_pool.info[frame].kind = FRAME_INSIDE;
	frame_pool.total += end - first;
	range_free(first, end);
	spin_unlock(&frame_pool.lock);
}

void frame_init_range(uint64_t base, uint64_t end)
{
	uint64_t first = frames_below(base), last = end / FRAME_SIZE;
	uint64_t meta_first = frame_pool.meta_base / FRAME_SIZE;
	uint64_t meta_last = frame_pool.meta_end / FRAME_SIZE;

	if (frame_pool.info == NULL)
		frame_panic("frame_init_range() before frame_init()");
	if (first >= last)
		return;
	if (last > frame_pool.nframes)
		frame_panic("usable range 0x%lx-0x%lx ends above max_phys "
			    "0x%lx", base, end, phys_of(frame_pool.nframes));
	if (first < meta_last && meta_first < last) {  /* holds the table */
		if (first < meta_first)
			frames_add(first, meta_first);
		if (meta_last < last)
			frames_add(meta_last, last);
		return;
	}
	frames_add(first, last);
}

/**
 * ## Every CPU at once: the frame lock
 *
 * Every CPU allocates frames: for page tables, stacks, heap pages. Two
 * CPUs that pop the same list at the same moment would both read the
 * same head block and hand out the same frames twice; a free that
 * merges with a buddy another CPU is just taking would link a block
 * into two lists. So the allocator takes one lock, `frame_pool.lock`,
 * *inside* each call: frame_alloc(), frame_free(), adding a range, and
 * the statistics each hold it from their first look at the lists to
 * their last change, and no caller needs to know that it exists.
 * (Chapters 04 and 05 ran on one CPU and needed none; the functions
 * did not change their interface when it came.)
 *
 * The lock is the last in the lock order (spinlock.c): the heap and
 * the mapper call the allocator with their own locks held, and the
 * allocator calls nobody, not even the heap, since it keeps all its
 * state in the table. A misuse is reported after the lock is released:
 * the report only reads the table, and the kernel stops after it.
 *
 * One lock for all frames makes CPUs that allocate at the same time
 * wait for each other, a few hundred cycles each. When that matters
 * (it does not yet: the mapper and the heap take frames a page at a
 * time, and the heap keeps a reserve), the classic answer is a small
 * cache of free frames per CPU in front of the shared lists, as Linux
 * does with its per-CPU page lists.
 */

/**
 * ## Why this design: what it replaced, and what it costs
 *
 * The rest of the file is the story behind the design above: the
 * allocator of Redox 0.3.5 that chapter 02's bump allocator stands in
 * for, the measurements that compare the two, and the measurement that
 * moved the free lists out of the free frames and into the table.
 *
 * ### What Redox 0.3.5 does: bump, then recycle
 *
 * Redox stacks two allocators. The inner one *bumps*: it walks the
 * usable areas of the memory map and hands out each frame once, in
 * address order; its free function does nothing. The outer one, the
 * *recycle* allocator, keeps the frames given back in a growable array
 * (a Rust `Vec`) of runs, each an address and a frame count:
 *
 * - **Allocating n frames** looks at *every* run for the smallest one
 *   holding at least n frames (on a tie the later run wins), cuts the
 *   n frames off that run's top, and deletes the run if nothing is
 *   left. Only when no run fits does it ask the bump allocator.
 * - **Freeing** looks through the array, from the start, for a run
 *   that ends where the freed block starts or starts where it ends,
 *   and extends it. Then it searches the whole array again for a run
 *   touching the enlarged one, and so on, deleting each run that gets
 *   swallowed. A block with no neighbour is appended as a new run.
 *
 * Both operations walk the array, so every allocation and every free
 * costs time in proportion to the number of runs, and once page
 * tables and stacks have come and gone for a while, the runs can
 * number in the thousands. Counting the free frames adds up the whole
 * array as well. Nothing checks a free: giving a frame back twice
 * stores it twice, and two later allocations both receive it, say for
 * two page tables, which then overwrite each other.
 * (tests/host/test_bench.c shows this, and the lost frames below, on
 * the C re-creation of the recycle allocator that the benchmark uses:
 * it pins the behaviour described here, not Redox itself.)
 *
 * The array lives on the kernel heap, and that creates the other
 * problems. The heap is built after paging, and it takes its memory
 * from the frame allocator, so the frame allocator starts life before
 * there is any heap to grow its array in. Redox handles this with a
 * flag called `noncore`. Until `init_noncore()`, one of the last steps
 * of start-up (after the heap, the devices and ACPI), sets it, a freed
 * frame is passed to the bump allocator, which drops it: those frames
 * are lost until the next boot. After it is set, growing the array
 * while the frame lock is held may make the heap grow, and the
 * heap asks the frame allocator for frames, which waits for the lock
 * that its own caller holds: the CPU deadlocks against itself. (One
 * might expect a free before `noncore` to panic; in Redox 0.3.5 it
 * does not: the frame is silently leaked.) (The bump
 * allocator has bugs of its own: a run that crosses the end of an area
 * recurses without bound, until the stack overflows, and its overlap
 * test with the kernel image checks only the first and last frame.)
 *
 * ### The cost curve, measured
 *
 * `make bench`, in this chapter's directory, builds bench/bench_frame.c
 * with -O2 and runs it on the build machine. It builds the same
 * fragmented state for both allocators: 2N frames allocated one at a
 * time, then every other one freed, which leaves N free runs of one
 * frame each. It then times an allocation of one frame followed by the
 * free of that same frame, and reports the median cost of such a pair.
 * The recycle allocator is a step-by-step C re-creation of Redox's
 * logic (bench/recycle.c; tests/host/test_bench.c pins down that it
 * behaves as described above). On the machine this chapter was written on
 * (an x86-64 virtual machine with 2 cores shared with other work, gcc
 * 12.2), one run printed:
 *
 * | free runs | buddy ns/op | recycle ns/op | ratio |
 * |---:|---:|---:|---:|
 * | 100 | 20.0 | 414.6 | 21 |
 * | 1000 | 26.0 | 4041.1 | 155 |
 * | 10000 | 17.9 | 46871.2 | 2625 |
 * | 100000 | 26.1 | 483272.0 | 18512 |
 *
 * Times on a busy machine move by tens of percent from run to run.
 * Instruction counts do not, so when valgrind is installed, `make
 * bench` goes on to have it count the instructions of the same pairs:
 *
 * | free runs | buddy instructions/op | recycle instructions/op | ratio |
 * |---:|---:|---:|---:|
 * | 100 | 199 | 2797 | 14 |
 * | 1000 | 199 | 27097 | 136 |
 * | 10000 | 199 | 270097 | 1357 |
 * | 100000 | 199 | 2700097 | 13561 |
 *
 * The buddy allocator executes the same 199 instructions whatever N
 * is. The recycle allocator executes 27 more for every run there is,
 * because one allocation and one free each read the whole array. At
 * 10^5 runs the array (1.6 MB) no longer fits in the CPU's fast
 * caches, and the time per run grows as well. We set this chapter two
 * targets, and both are met by far: the
 * buddy allocator's cost stays flat (the same instructions at 10^5 runs
 * as at 10^2, and 1.31 times the time in this run, against a limit of
 * 2), and at 10^5 runs it is over 10,000 times cheaper than the recycle
 * design (the target was 100).
 *
 * Inside the kernel, the `bench_frames` scenario (frame_tests.c) takes
 * every frame of a 2 GiB machine one at a time, about half a million,
 * and gives them all back. Under QEMU's emulator, one run printed
 *
 *     BENCH frame_alloc 603 cycles/frame, frame_free 583 cycles/frame
 *
 * and two more runs 542 to 562 cycles for each; the figure moves with
 * what else the machine is doing. Those are emulated
 * cycles: without hardware virtualisation, QEMU translates each guest
 * instruction into several host ones, so the figure measures the
 * emulator as much as the allocator. That is why the tables above were
 * measured on the host.
 *
 * ### Why the links are not in the free frames
 *
 * The classic design keeps the links inside the free memory itself:
 * xv6, for one, threads its list of free pages through the first bytes
 * of each page. Free memory belongs to nobody else, so the links cost
 * nothing, and a buddy allocator built that way needs only the 4-byte
 * state. This chapter began with exactly that. Under QEMU, it turned
 * out to be expensive in a way no host benchmark shows.
 *
 * QEMU asks the host to back the guest's RAM with *transparent huge
 * pages* (it calls madvise() on it, and Linux then uses 2 MiB pages for
 * that memory). Nothing is allocated until the guest touches a page;
 * the first touch makes the host find and zero a whole 2 MiB page.
 * Memory the guest never touches costs the host nothing. A list inside
 * the free frames writes a node into the first frame of every free
 * block, and right after boot almost all memory is in 4 MiB blocks: one
 * write per 4 MiB, which makes the host fill every other 2 MiB page.
 * Booting a 6 GiB guest to the end of its self-tests took 3.2 GB of
 * host memory and up to 8.5 seconds (1 s when the host had huge pages
 * ready); a 2 GiB guest took 1.1 GB and up to 3.8 s. Chapter 03 boots
 * either in 0.2 s and 60 MB. With the links in the table, the same
 * boots take 0.3 s and 80 MB at 6 GiB, 0.3 s and 65 MB at 2 GiB
 * (`/usr/bin/time` around `tools/qemu --test boot`, q35; README.md has
 * the command). Every later chapter boots through this allocator, and
 * the test matrix runs 6 GiB guests side by side.
 *
 * So the trade-off is 8 bytes per frame, 2 MiB per GiB, against an
 * allocator that leaves free memory alone. The intrusive list is right
 * where RAM is scarce and nobody pays for touching it. Here the table
 * buys three things: a guest's untouched memory stays free for the
 * host, the allocator never needs a mapping of the frames it manages
 * (only of its table), and a stray write into a free frame can no
 * longer break a list. The last one has a flip side ("Catching
 * mistakes", near the top of the file): the allocator can no longer
 * notice such a write.
 */
