/*
 * heap.c: the kernel heap. Small objects come from size-class slabs,
 * large ones from runs of pages, all inside one window of virtual
 * memory that is mapped and unmapped a page at a time.
 *
 * Pure logic: it reaches memory and the machine only through the hooks
 * at the end of heap.h (heap_map_page(), heap_unmap_pages(), ...), so the
 * host tests (tests/host/test_heap.c) and the benchmark (bench/) compile
 * this very file.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"
#include "spinlock.h"
#include "string.h"

/**
 * ## What a heap adds to the frame allocator
 *
 * Chapter 04's frame allocator hands out *physical* memory in 4 KiB
 * frames. That is the right unit for a page table, and the wrong one
 * for almost everything else a kernel allocates: a 40-byte list node, a
 * 200-byte device record, a 3 KiB buffer, a 64 KiB stack. A heap fills
 * the gap. It takes whole pages and cuts them up, and it differs from
 * the frame allocator in four ways:
 *
 * - **Any size.** Requests run from a few bytes to many pages. The heap
 *   must round them up to something it can manage without wasting much.
 * - **Only a pointer comes back.** `kfree(p)` is not told the size, as
 *   `frame_free()` is, so the heap must find out from the address alone
 *   what `p` is, quickly, and whether it is a valid pointer at all.
 * - **Virtual, not physical.** An object larger than a page must be
 *   contiguous only in *virtual* memory: the page tables can put any
 *   frames behind consecutive pages. So the heap lives in a window of
 *   virtual addresses and maps frames into it as it needs them, with the
 *   mapper of chapter 02. The frames need not be contiguous, so the
 *   heap never asks the frame allocator for more than one at a time.
 * - **It touches what it manages.** The frame allocator never reads a
 *   free frame (chapter 04). The heap does write into free memory, its
 *   free lists live there, so a stray write by its user can damage it;
 *   the checks described in "Catching mistakes" are there for that.
 *
 * The hardware gives the heap pages of 4 KiB with permissions: the heap's
 * pages are writable, never executable (NX), and global (G: they stay in
 * the TLB across address-space switches, since every address space of
 * later chapters shares the kernel half).
 *
 * ## The design in one picture
 *
 * The window is PML4 slot 509, starting at HEAP_BASE =
 * 0xFFFFFE8000000000, the address Redox 0.3.5 uses. Its first 256 GiB
 * hold objects; right after them lies an array with one 16-byte
 * *page descriptor* for every page of the window:
 *
 *     HEAP_BASE                                       + 256 GiB
 *     | slab 64 | slab 16 | large (3 pages) | res. |   ...unmapped...
 *     |<------------ extent: pages [0, top) ------------->|
 *
 *     HEAP_DESC_BASE = HEAP_BASE + 256 GiB
 *     | desc 0 | desc 1 | ... one per page of the extent, 256 per page
 *
 * Every page of the window is in one of five states, kept in its
 * descriptor:
 *
 * | kind | what the page is |
 * |---|---|
 * | `PAGE_SLAB` | mapped, cut into slots of one size class |
 * | `PAGE_LARGE` | mapped, the first page of a large object |
 * | `PAGE_LARGE_TAIL` | mapped, another page of a large object |
 * | `PAGE_RESERVE` | mapped but free: the reserve, at most 1 MiB |
 * | `PAGE_UNMAPPED` | free, no frame behind it |
 *
 * - **Small objects** (up to 2048 bytes) are served from *slabs*: a slab
 *   is one page cut into equal *slots* of one of 23 *size classes*, 16
 *   to 2048 bytes. A request takes the smallest class that holds it. A
 *   free slot holds the link to the next free slot of the same page.
 *   Each class also keeps the last 16 slots freed in it in a small
 *   *cache*, and hands them out first.
 * - **Large objects** take a *run* of whole pages, as many as they need.
 * - **Free pages** form runs too. Each free run is on one list of
 *   free runs of its size (a *bin*), and its first and last descriptors
 *   record its length, so a freed run finds and joins its free
 *   neighbours in constant time (these are *boundary tags*).
 *
 * `kfree(p)` needs no header in front of the object: the page
 * descriptor is found by arithmetic, `desc[(p - HEAP_BASE) / 4096]`, and
 * tells the class, or the run, at once. The descriptors live outside
 * the objects, so a write past the end of an object cannot damage
 * them, and a pointer that is not an object's start can be told apart
 * from one that is.
 *
 * **The extent.** Only pages below `top` have descriptors. The extent
 * grows 1 MiB (256 pages, one page of descriptors) at a time and shrinks
 * again when its topmost pages are unmapped.
 *
 * **Growing and shrinking.** A slab page or a run comes from the
 * reserve if possible. If not, the heap *grows*: it maps up to 1 MiB of
 * window (enough to refill the reserve, and at least the request) with
 * fresh frames. A page that stops being used goes into the reserve;
 * when that takes the reserve past 1 MiB, the heap *shrinks*: it unmaps
 * free pages down to 512 KiB and gives their frames back to the frame
 * allocator. So the heap never holds more than 1 MiB of free pages.
 *
 * **Back to nothing.** When every object has been freed, the heap still
 * holds the reserve, the pages kept by slots in the class caches, and
 * the descriptor pages of its extent. `heap_trim()` gives all of them
 * back: after it, the heap holds no frame at all, and the frame
 * allocator's count is what it was before the heap was first used.
 *
 * **Invariants**, which the host tests check (`check_heap()`) after
 * every case and every 50,000 random operations:
 *
 * 1. Every page of the extent has a valid descriptor; no page above
 *    `top` is mapped. `top` is a multiple of 256.
 * 2. Free pages form maximal runs of one kind (reserve or unmapped):
 *    two free runs of the same kind never touch. Each is in exactly one
 *    bin, and its first and last descriptors hold its length.
 * 3. A slab page is on its class's `partial` list exactly when some of
 *    its slots are free: its `inuse` counts the slots handed out and
 *    those in the class cache, and is never 0 (an empty page is
 *    released at once).
 * 4. A class cache holds at most CACHE_SLOTS free slots of its class,
 *    each once, none of them on a page's free list.
 * 5. The reserve holds at most RESERVE_PAGES pages.
 */

/* ---- The data structures ---- */

/* The reports of misuse are out of line, in functions marked cold, so
 * that kmalloc() and kfree() stay short (see "What it costs"). */
#define COLD __attribute__((cold, noinline))
#define HOT static inline __attribute__((always_inline))  /* see there */

#define PAGE_BYTES    4096u
#define PAGE_SHIFT    12
#define CHUNK_PAGES   256u   /* 1 MiB: the extent's step, one page of
                                descriptors */
#define RESERVE_PAGES 256u   /* free pages kept mapped: at most 1 MiB */
#define MAX_SMALL     2048u  /* larger requests take runs of pages */
#define MAX_OBJECT    (1ull << 30)  /* larger requests are refused */
#define NO_PAGE       UINT32_MAX    /* no page: the end of a list */
#define NO_SLOT       0xFFFFu       /* no slot: the end of a free list */

enum page_kind {
	PAGE_UNMAPPED,    /* free, no frame behind it */
	PAGE_RESERVE,     /* free, mapped: the reserve */
	PAGE_SLAB,        /* slots of one size class */
	PAGE_LARGE,       /* first page of a large object */
	PAGE_LARGE_TAIL,  /* another page of a large object */
};

/* What a free page remembers about its last use, for the message when
 * a stale pointer into it is freed (page_desc.cls of a free page). */
enum freed_from {
	FREED_NOTHING,    /* nothing the heap can name */
	FREED_LARGE,      /* the first page of a large object, freed */
	FREED_SLAB,       /* a slab page, released when its last slot was */
};

/* One page's descriptor: 16 bytes, so one page of them describes 256
 * pages (1 MiB) of the window. */
struct page_desc {
	uint8_t kind;      /* enum page_kind */
	uint8_t cls;       /* SLAB: size class; free: enum freed_from */
	uint16_t inuse;    /* SLAB: slots handed out */
	union {
		struct {
			uint16_t fresh;  /* SLAB: offset of the first slot
			                    never handed out */
			uint16_t free;   /* SLAB: offset of the first free
			                    slot, or NO_SLOT */
		};
		uint32_t pages;  /* first and last page of a free run, and
		                    PAGE_LARGE: pages in the run */
		uint32_t head;   /* PAGE_LARGE_TAIL: the run's first page */
	};
	uint32_t next;     /* SLAB: partial list; free run: its bin */
	uint32_t prev;
};

_Static_assert(sizeof(struct page_desc) == 16,
	       "256 descriptors fill one page");

/* A free slot, as it lies in the slab page. */
struct free_slot {
	uint32_t next;     /* offset of the next free slot, or NO_SLOT */
	uint32_t check;    /* ~next: a link that was written over no longer
	                      matches */
	uint64_t key;      /* FREE_KEY ^ the slot's address: "I am free" */
	uint64_t freed_by; /* debug checks, slots of 32 bytes or more: who
	                      freed it, */
	uint64_t freed_check;  /* and ~freed_by; poison follows to the
	                          slot's end */
};

#define FREE_KEY 0x46524545534C4F54ull  /* "FREESLOT" */
#define POISON_FROM 32u  /* poison begins after a free slot's fields */

/**
 * ### The size classes
 *
 * A slab page holds `4096 / size` slots, and whatever is left at the
 * end of the page is wasted. So a class is worth having only if it puts
 * more slots in a page than the next larger one: 1360 fits 3 in a page
 * and 2048 fits 2, so a class of 1536 would also fit only 2, waste as
 * much per page as 2048, and help no one. Up to 128 bytes the classes
 * go in steps of 16 (every class is a multiple of 16, so every object
 * is 16-byte aligned, which FXSAVE areas and SSE data need), then in
 * steps of 32 up to 256. Above that, each class is the largest multiple
 * of 16 that fits its number of slots in a page (288 fits 14, 336 fits
 * 12, ... 1360 fits 3, 2048 fits 2), a step of 12% to 25% up to 1 KiB,
 * then of 33% and 50%, where no size in between would fill a page
 * better. How much this wastes, measured, is in "Choosing the classes"
 * below.
 */
static const uint16_t class_sizes[HEAP_CLASSES] = {
	16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256,
	288, 336, 400, 448, 512, 576, 672, 816, 1024, 1360, 2048,
};

#define CACHE_SLOTS 16

struct size_class {
	uint16_t size;      /* bytes per slot */
	uint16_t per_page;  /* slots per slab page */
	uint32_t partial;   /* first slab page with free slots, or NO_PAGE */
	uint32_t cached;    /* slots in cache[] */
	uint64_t magic;     /* 2^64 / size, rounded up: see on_boundary() */
	uint64_t pages;     /* slab pages of this class */
	uint64_t objects;   /* objects handed out (not those in cache[]) */
	uintptr_t cache[CACHE_SLOTS];  /* free slots, the newest last
	                                  ("The class cache") */
};

/**
 * ### Bins of free runs
 *
 * Free pages are kept as *runs*: maximal stretches of consecutive free
 * pages of one kind, reserve or unmapped. To find a run of at least n
 * pages without looking at every run, the runs are sorted into *bins*
 * by length. Short runs, the common case, get a bin per length: bin n
 * holds the runs of exactly n pages, for n from 1 to 63. Longer runs
 * share one bin per power of two: runs of 64 to 127 pages are in bin 64,
 * runs of 128 to 255 in bin 65, and so on, bin 64 + k - 6 for runs of
 * 2^k to 2^(k+1) - 1 pages. 90 bins hold runs of any length up to
 * 2^32 - 1 pages, far more than the window has.
 *
 * A bin is a doubly linked list threaded through the `next` and `prev`
 * fields of its runs' first descriptors, so taking any run off its bin
 * is constant work. `nonempty` has one bit per bin, set while the bin
 * holds a run: "the first non-empty bin from b on" is then a mask and a
 * count of trailing zero bits (`__builtin_ctzll`, one instruction), not
 * a loop over 90 list heads. There are two sets of bins, one for runs
 * of reserve pages and one for runs of unmapped pages.
 */
#define EXACT_BINS 64
#define BINS       (EXACT_BINS + 32 - 6)

struct run_bins {
	uint32_t head[BINS];     /* first run of each bin, or NO_PAGE */
	uint64_t nonempty[2];    /* bit b: bin b has a run */
};

enum { UNMAPPED_RUNS, RESERVE_RUNS };  /* heap.bins[...] */

/**
 * ### One structure for the whole heap
 *
 * Everything the heap knows is in `heap`, below, and one lock protects
 * all of it: where the window is, the descriptor array, the extent's
 * `top`, the two sets of bins, the 23 size classes, and `class_of`, the
 * table that turns a request's size into its class with one load (entry
 * i is the smallest class of at least 16 * i bytes). The counters at the
 * end, from `data_pages` on, are statistics: the heap decides nothing
 * from them. heap_get_stats() copies them out for the boot report, the
 * self-tests and the benchmark; in gdb, `print heap` shows them all, and
 * the `heap` command (gdb/heap.py) sums them up.
 */
static struct heap {
	struct spinlock lock;     /* protects everything below */
	uintptr_t base;           /* the window's first byte */
	struct page_desc *desc;   /* desc[i]: page i of the window */
	uint32_t window_pages;    /* pages in the window */
	uint32_t top;             /* pages [0, top) have descriptors */
	uint32_t reserve;         /* pages in reserve runs */
	bool checks;              /* the debug checks are on */
	bool warned;              /* "out of memory" has been said */
	struct run_bins bins[2];  /* free runs: unmapped, reserve */
	struct size_class cls[HEAP_CLASSES];
	uint8_t class_of[MAX_SMALL / 16 + 1];  /* (bytes + 15) / 16 ->
	                                          smallest class */
	uint64_t data_pages, desc_pages, slab_pages;
	uint64_t large_runs, large_pages;
	uint64_t grows, shrinks, pages_mapped, pages_unmapped, failures;
} heap = { .lock = SPINLOCK_INIT("heap") };

static uintptr_t page_va(uint32_t page)
{
	return heap.base + ((uintptr_t)page << PAGE_SHIFT);
}

static uintptr_t desc_page_va(uint32_t chunk)
{
	return (uintptr_t)heap.desc + (uintptr_t)chunk * PAGE_BYTES;
}

static const char *name_of(uintptr_t pc, char *buf)
{
	return heap_caller_name(pc, buf, 64);
}

/* ---- Free runs ---- */

/**
 * ### Finding a run
 *
 * `bin_of(n)` is the bin a run of n pages goes into. `bin_fit(n)` is
 * the first bin in which *every* run has at least n pages. For n below
 * 64, or a power of two, that is bin_of(n) itself. Otherwise n's own bin
 * also holds shorter runs (bin 64 holds runs of 64 to 127 pages, so a run
 * found there may be too short for a request of 100), and the first bin
 * that surely fits is the next one up.
 *
 * `run_find()` asks the bitmap for the first non-empty bin from
 * bin_fit(n) on and takes the first run there: no list is searched.
 * Only when no such bin exists does it walk the one shared bin that may
 * still hold a long enough run. Taking the first run of a fitting bin,
 * rather than the smallest run that fits, is what keeps the search to a
 * fixed amount of work; the exact bins for short runs keep it close to a
 * best fit where most requests are.
 */
static unsigned log2_floor(uint32_t n)
{
	return 31 - (unsigned)__builtin_clz(n);
}

static unsigned bin_of(uint32_t pages)
{
	return pages < EXACT_BINS ? pages
				  : EXACT_BINS + log2_floor(pages) - 6;
}

/* The first bin all of whose runs hold at least `pages` pages. */
static unsigned bin_fit(uint32_t pages)
{
	if (pages < EXACT_BINS || (pages & (pages - 1)) == 0)
		return bin_of(pages);
	return bin_of(pages) + 1;
}

/* The first non-empty bin from b on, or -1. */
static int bin_from(const struct run_bins *rb, unsigned b)
{
	for (unsigned w = b / 64; w < 2; w++) {
		uint64_t m = rb->nonempty[w];

		if (w == b / 64)
			m &= ~0ull << (b % 64);
		if (m)
			return (int)(w * 64 + (unsigned)__builtin_ctzll(m));
	}
	return -1;
}

/* Make pages [first, first + n) a free run on its bin of set. */
static void run_insert(uint32_t first, uint32_t n, int set)
{
	struct run_bins *rb = &heap.bins[set];
	unsigned b = bin_of(n);
	uint32_t old = rb->head[b];

	heap.desc[first].pages = n;
	heap.desc[first + n - 1].pages = n;
	heap.desc[first].next = old;
	heap.desc[first].prev = NO_PAGE;
	if (old != NO_PAGE)
		heap.desc[old].prev = first;
	rb->head[b] = first;
	rb->nonempty[b / 64] |= 1ull << (b % 64);
}

/* Take the free run at first off its bin. */
static void run_remove(uint32_t first, int set)
{
	struct run_bins *rb = &heap.bins[set];
	struct page_desc *d = &heap.desc[first];
	unsigned b = bin_of(d->pages);

	if (d->prev != NO_PAGE)
		heap.desc[d->prev].next = d->next;
	else
		rb->head[b] = d->next;
	if (d->next != NO_PAGE)
		heap.desc[d->next].prev = d->prev;
	if (rb->head[b] == NO_PAGE)
		rb->nonempty[b / 64] &= ~(1ull << (b % 64));
}

/* A free run of set with at least n pages, or NO_PAGE. One bit scan
 * finds a bin whose runs all fit. Only a request of 64 pages or more
 * that is not a power of two may then look through one more bin. */
static uint32_t run_find(int set, uint32_t n)
{
	const struct run_bins *rb = &heap.bins[set];
	int b = bin_from(rb, bin_fit(n));

	if (b >= 0)
		return rb->head[b];
	if (bin_fit(n) != bin_of(n))
		for (uint32_t r = rb->head[bin_of(n)]; r != NO_PAGE;
		     r = heap.desc[r].next)
			if (heap.desc[r].pages >= n)
				return r;
	return NO_PAGE;
}

/**
 * ### Boundary tags: joining free neighbours
 *
 * A free run records its length twice, in its first and in its last
 * descriptor (`pages`); of the descriptors in between, only the kind
 * matters. When pages [first, first + n) become free,
 * `run_put()` looks at the two descriptors just outside them. If
 * desc[first - 1] is free and of the same kind, it is the *last* page of
 * the run on the left, and its `pages` says where that run starts; if
 * desc[first + n] is, it is the first page of the run on the right. The
 * neighbours come off their bins and the three become one run.
 *
 * No list is searched, so freeing costs the same however many runs
 * there are, and after every call no two free runs of one kind touch
 * (invariant 2). `run_take()` is the opposite: it cuts the pages a
 * caller needs off the front of a run and files the rest under its new
 * length.
 */
/* Cut the first n pages off the free run at first (of set); the rest
 * stays a free run. */
static void run_take(uint32_t first, uint32_t n, int set)
{
	uint32_t len = heap.desc[first].pages;

	run_remove(first, set);
	if (len > n)
		run_insert(first + n, len - n, set);
}

static void set_kind(uint32_t first, uint32_t n, uint8_t kind)
{
	for (uint32_t p = first; p < first + n; p++)
		heap.desc[p].kind = kind;
}

/* Pages [first, first + n), all already of kind PAGE_RESERVE or
 * PAGE_UNMAPPED, become free: one run, joined with the free runs of the
 * same kind on either side (invariant 2). */
static void run_put(uint32_t first, uint32_t n, uint8_t kind)
{
	int set = kind == PAGE_RESERVE ? RESERVE_RUNS : UNMAPPED_RUNS;

	if (first > 0 && heap.desc[first - 1].kind == kind) {
		first -= heap.desc[first - 1].pages;
		n += heap.desc[first].pages;
		run_remove(first, set);
	}
	if (first + n < heap.top && heap.desc[first + n].kind == kind) {
		uint32_t right = first + n;

		n += heap.desc[right].pages;
		run_remove(right, set);
	}
	run_insert(first, n, set);
}

/* ---- The extent ---- */

/**
 * ### Growing the extent
 *
 * When no unmapped run is long enough, the extent grows by whole
 * chunks of 1 MiB: for each, one page of descriptors is mapped and
 * filled in, and the new pages join the unmapped run at the old top, if
 * there is one. The window itself limits the growth.
 */
static int extent_grow(uint32_t need)
{
	uint32_t have = 0, chunks, first_chunk = heap.top / CHUNK_PAGES;
	uint32_t old_top = heap.top;

	if (heap.top > 0 && heap.desc[heap.top - 1].kind == PAGE_UNMAPPED)
		have = heap.desc[heap.top - 1].pages;
	chunks = (need - have + CHUNK_PAGES - 1) / CHUNK_PAGES;
	if (chunks > (heap.window_pages - heap.top) / CHUNK_PAGES)
		return -1;                          /* the window is full */
	for (uint32_t c = 0; c < chunks; c++) {
		if (heap_map_page(desc_page_va(first_chunk + c)) != 0) {
			heap_unmap_pages(desc_page_va(first_chunk), c);
			return -1;
		}
	}
	heap.desc_pages += chunks;
	heap.pages_mapped += chunks;
	heap.top += chunks * CHUNK_PAGES;
	for (uint32_t p = old_top; p < heap.top; p++)
		heap.desc[p] = (struct page_desc){ .kind = PAGE_UNMAPPED };
	run_put(old_top, heap.top - old_top, PAGE_UNMAPPED);
	return 0;
}

/* If the topmost pages are unmapped, lower top to the first chunk
 * boundary above them and unmap the descriptor pages above it. */
static void extent_shrink(void)
{
	uint32_t first, new_top, chunks;

	if (heap.top == 0 || heap.desc[heap.top - 1].kind != PAGE_UNMAPPED)
		return;
	first = heap.top - heap.desc[heap.top - 1].pages;
	new_top = (first + CHUNK_PAGES - 1) / CHUNK_PAGES * CHUNK_PAGES;
	if (new_top == heap.top)
		return;
	run_remove(first, UNMAPPED_RUNS);
	if (first < new_top)
		run_insert(first, new_top - first, UNMAPPED_RUNS);
	chunks = heap.top / CHUNK_PAGES - new_top / CHUNK_PAGES;
	heap_unmap_pages(desc_page_va(new_top / CHUNK_PAGES), chunks);
	heap.desc_pages -= chunks;
	heap.pages_unmapped += chunks;
	heap.top = new_top;
}

/* ---- Mapping and unmapping ---- */

/* Map pages first, first + 1, ... until n are mapped or a frame runs
 * out. Returns how many were mapped. */
static uint32_t map_pages(uint32_t first, uint32_t n)
{
	uint32_t done = 0;

	while (done < n && heap_map_page(page_va(first + done)) == 0)
		done++;
	heap.data_pages += done;
	heap.pages_mapped += done;
	return done;
}

static void unmap_pages(uint32_t first, uint32_t n)
{
	heap_unmap_pages(page_va(first), n);
	heap.data_pages -= n;
	heap.pages_unmapped += n;
}

/**
 * ### Growing: mapping more pages
 *
 * `grow(need, want)` finds an unmapped run of at least `need` pages
 * (growing the extent if there is none), and maps up to `want` pages of
 * it. If frames run out before `need` pages are mapped, it undoes
 * everything and fails; between `need` and `want` it keeps what it got.
 * The pages mapped become PAGE_RESERVE, and belong to the caller.
 */
static uint32_t grow(uint32_t need, uint32_t want, uint32_t *got)
{
	uint32_t first = run_find(UNMAPPED_RUNS, need), len;

	if (first == NO_PAGE) {
		if (extent_grow(need) != 0)
			return NO_PAGE;
		first = run_find(UNMAPPED_RUNS, need);
		if (first == NO_PAGE)       /* cannot happen (invariant 2) */
			return NO_PAGE;
	}
	len = heap.desc[first].pages;
	if (len > want)
		len = want;
	run_take(first, len, UNMAPPED_RUNS);
	*got = map_pages(first, len);
	if (*got < need) {
		unmap_pages(first, *got);
		run_put(first, len, PAGE_UNMAPPED);
		extent_shrink();
		return NO_PAGE;
	}
	set_kind(first, *got, PAGE_RESERVE);
	if (*got < len)
		run_put(first + *got, len - *got, PAGE_UNMAPPED);
	heap.grows++;
	return first;
}

/* n mapped pages for an object, from the reserve or grown, their kinds
 * set to kind (and cls to 0); the first page, or NO_PAGE. */
static uint32_t pages_get(uint32_t n, uint8_t kind)
{
	uint32_t first = run_find(RESERVE_RUNS, n), got;

	if (first != NO_PAGE) {
		run_take(first, n, RESERVE_RUNS);
		heap.reserve -= n;
	} else {
		uint32_t refill = RESERVE_PAGES - heap.reserve;

		first = grow(n, n > refill ? n : refill, &got);
		if (first == NO_PAGE)
			return NO_PAGE;
		if (got > n) {                 /* the rest: the reserve */
			heap.desc[first + n - 1].kind = kind;
			run_put(first + n, got - n, PAGE_RESERVE);
			heap.reserve += got - n;
		}
	}
	for (uint32_t p = first; p < first + n; p++) {
		heap.desc[p].kind = kind;
		heap.desc[p].cls = 0;
	}
	return first;
}

/* The highest non-empty bin, or -1. */
static int bin_last(const struct run_bins *rb)
{
	if (rb->nonempty[1])
		return 127 - __builtin_clzll(rb->nonempty[1]);
	return rb->nonempty[0] ? 63 - __builtin_clzll(rb->nonempty[0]) : -1;
}

/**
 * ### Shrinking: unmapping the reserve down to a mark
 *
 * When the reserve grows past RESERVE_PAGES, `reserve_shrink()`
 * unmaps free pages until only RESERVE_LOW are left, largest runs
 * first (their pages are cut from the end, so what stays mapped stays
 * at low addresses, and a long unmapped run at the top lets the extent
 * shrink). Unmapping down to half, not just below the limit, is what
 * keeps a workload that frees and allocates pages at the limit from
 * unmapping and mapping a page on every call: between two shrinks at
 * least 128 pages must have come back. heap_trim() is the same with a
 * mark of 0.
 */
#define RESERVE_LOW (RESERVE_PAGES / 2)

static void reserve_shrink(uint32_t keep)
{
	bool any = false;
	int b;

	while (heap.reserve > keep &&
	       (b = bin_last(&heap.bins[RESERVE_RUNS])) >= 0) {
		uint32_t first = heap.bins[RESERVE_RUNS].head[b];
		uint32_t n = heap.desc[first].pages, cut = n;

		if (cut > heap.reserve - keep)
			cut = heap.reserve - keep;
		run_remove(first, RESERVE_RUNS);
		if (n > cut)                             /* keep the front */
			run_insert(first, n - cut, RESERVE_RUNS);
		unmap_pages(first + n - cut, cut);
		set_kind(first + n - cut, cut, PAGE_UNMAPPED);
		run_put(first + n - cut, cut, PAGE_UNMAPPED);
		heap.reserve -= cut;
		any = true;
	}
	if (any)
		heap.shrinks++;
	extent_shrink();
}

/* Pages [first, first + n) of an object are free again: into the
 * reserve, which is shrunk if that takes it past RESERVE_PAGES. */
static void pages_release(uint32_t first, uint32_t n)
{
	set_kind(first, n, PAGE_RESERVE);
	heap.reserve += n;
	run_put(first, n, PAGE_RESERVE);
	if (heap.reserve > RESERVE_PAGES)
		reserve_shrink(RESERVE_LOW);
}

/* ---- Slabs ---- */

/* Doubly linked lists of slab pages, through next and prev. */
static void list_push(uint32_t *head, uint32_t page)
{
	heap.desc[page].next = *head;
	heap.desc[page].prev = NO_PAGE;
	if (*head != NO_PAGE)
		heap.desc[*head].prev = page;
	*head = page;
}

static void list_remove(uint32_t *head, uint32_t page)
{
	struct page_desc *d = &heap.desc[page];

	if (d->prev != NO_PAGE)
		heap.desc[d->prev].next = d->next;
	else
		*head = d->next;
	if (d->next != NO_PAGE)
		heap.desc[d->next].prev = d->prev;
}

static uint64_t free_key(const struct free_slot *s)
{
	return FREE_KEY ^ (uintptr_t)s;
}

/* Does a free slot of this size record who freed it (and carry poison
 * after that)? Only with the debug checks, and from 32 bytes up. */
static bool records_freer(unsigned size)
{
	return heap.checks && size >= POISON_FROM;
}

/* Is off (below 2^32) a multiple of the class's size? That is off %
 * size == 0, but a division by a number the compiler does not know
 * costs some 20 to 40 cycles, and kmalloc() and kfree() each need such
 * a test. Multiplying by magic = 2^64 / size, rounded up, and keeping
 * the low 64 bits of the product, leaves a number no larger than
 * magic - 1 exactly when off is a multiple of size (Lemire, Kaser and
 * Kurz, "Faster remainder by direct computation", 2019). */
static bool on_boundary(const struct size_class *sc, uint32_t off)
{
	return (uint64_t)off * sc->magic <= sc->magic - 1;
}

/**
 * ## Catching mistakes
 *
 * A mistake with a heap pointer rarely shows where it is made. A second
 * `kfree()` of an object puts its slot on the free list twice, and two
 * later `kmalloc()` calls get the same memory; a write past an object's
 * end lands in its neighbour; a write through a pointer kept after
 * `kfree()` lands in whatever object comes next. The damage shows up
 * much later, somewhere else. So the heap checks, and stops the kernel
 * with a message that names the address, the size class and the caller
 * (`function+offset`, from chapter 03's symbol table).
 *
 * **Always on** (they cost a few instructions):
 *
 * - *Not a heap pointer*: outside the extent, or in a free page.
 * - *Interior pointer*: not the first byte of a slot or a run.
 * - *Never handed out*: a slot above the page's `fresh` mark.
 * - *Double free*: a free slot carries the word `FREE_KEY` xor its own
 *   address after the link, and kmalloc() clears it. If the slot being
 *   freed carries it, the heap looks for the slot in its class's cache
 *   (16 entries) and on its page's free list (at most 256 steps) to be
 *   sure: user data that happens to look like a key costs a search,
 *   never a false alarm. A large object's first page, and a released
 *   slab page, remember what they held.
 * - *Damaged free list*: each link is checked (inside the page, on a
 *   slot boundary, below `fresh`, equal to its complement) before it
 *   is followed, so a corrupt link is reported, not used.
 *
 * **The debug checks** (`HEAP_DEBUG`: on in the kernel's normal build
 * and in the host tests, off in `make OPT=-O2` and in the benchmark)
 * cost time in proportion to the object's size, and 16 bytes per
 * object:
 *
 * - *Overflow*: every object is followed by *canary* bytes (0xCA) up to
 *   a 16-byte *trailer* at the end of its slot or run, which records
 *   the size asked for and who asked. `kfree()` checks both.
 * - *Write after free*: a freed slot is filled with *poison* (0xDF)
 *   behind its link, its key and the freeing caller (with its
 *   complement), and `kmalloc()` checks them all before handing the
 *   slot out again.
 *
 * What is not caught: a stale pointer into an object that has been
 * handed out again (the slot looks like any live one), reads of freed
 * memory, and writes into pages that went back to the reserve: those
 * of a freed large object, and a slab page whose last slot was freed
 * (its poison is never checked again; pages that are unmapped fault at
 * once).
 */
#define TRAILER 16u
#define CANARY  0xCA
#define POISON  0xDF

struct trailer {
	uint32_t size;     /* bytes asked for */
	uint32_t check;    /* size ^ TRAILER_MAGIC ^ address bits */
	uint64_t caller;   /* who allocated it */
};

#define TRAILER_MAGIC 0x54524C52u  /* "TRLR" */

static uint32_t trailer_check(uintptr_t obj, uint32_t size)
{
	return size ^ TRAILER_MAGIC ^ (uint32_t)(obj >> 4);
}

static struct trailer *trailer_of(uintptr_t obj, size_t slot_bytes)
{
	return (struct trailer *)(obj + slot_bytes - TRAILER);
}

/**
 * ### The trailer and the canaries
 *
 * With the debug checks on, every object is allocated 16 bytes larger
 * than asked for, and `arm_object()` lays out its slot (or run) so:
 *
 *     | the object: size bytes | canaries, 0xCA ... | trailer: 16 B |
 *     ^ obj                                        ^ obj + slot - 16
 *
 * The trailer sits at the very end of the slot, where kfree() can find
 * it from the slot's size alone, which the page descriptor gives. It
 * records the size asked for, which says where the canaries begin, and
 * the caller that allocated the object, for the message. Its `check`
 * word mixes the size with the object's address, so a trailer that was
 * written over, or copied from another object, does not pass.
 *
 * `check_object()` checks the trailer first: if it was damaged, the size
 * in it cannot be trusted to find the canaries. Then it checks every
 * canary byte and reports the first one that changed, so a write one
 * byte too far shows up as "byte 100 is 0x00" for an object of 100
 * bytes: right where it happened, with who allocated and who freed it.
 */
/* Debug: canaries after the object, then the trailer. */
static void arm_object(uintptr_t obj, size_t slot_bytes, size_t size,
		       uintptr_t caller)
{
	struct trailer *t = trailer_of(obj, slot_bytes);

	memset((void *)(obj + size), CANARY, slot_bytes - TRAILER - size);
	t->size = (uint32_t)size;
	t->check = trailer_check(obj, (uint32_t)size);
	t->caller = caller;
}

/* Debug: does the trailer at the end of slot_bytes still belong to obj?
 * (A free slot's fields and poison lie where a trailer was.) */
static bool trailer_intact(uintptr_t obj, size_t slot_bytes)
{
	const struct trailer *t = trailer_of(obj, slot_bytes);

	return t->check == trailer_check(obj, t->size) &&
	       t->size <= slot_bytes - TRAILER;
}

/* A slot or run of slot_bytes in a message: "class 64 bytes", or
 * "large, 3 pages". */
#define CLASS_FMT "%s %zu %s"
#define CLASS_ARGS(slot_bytes)                                       \
	(slot_bytes) <= MAX_SMALL ? "class" : "large,",              \
	(slot_bytes) <= MAX_SMALL ? (slot_bytes) : (slot_bytes) / PAGE_BYTES, \
	(slot_bytes) <= MAX_SMALL ? "bytes" : "pages"

/* Debug: the size asked for, or panic if the trailer or a canary was
 * written over. */
static size_t check_object(uintptr_t obj, size_t slot_bytes,
			   uintptr_t caller)
{
	const struct trailer *t = trailer_of(obj, slot_bytes);
	const uint8_t *p = (const uint8_t *)obj;
	char a[64], b[64];

	if (!trailer_intact(obj, slot_bytes))
		heap_panic("overflow past the end of %p (" CLASS_FMT "): its "
			   "trailer at %p was written over; freed by %s",
			   (void *)obj, CLASS_ARGS(slot_bytes), (void *)t,
			   name_of(caller, a));
	for (size_t i = t->size; i < slot_bytes - TRAILER; i++)
		if (p[i] != CANARY)
			heap_panic("overflow past the %u bytes of %p ("
				   CLASS_FMT "): byte %zu is 0x%02x, not "
				   "0x%02x; allocated by %s, freed by %s",
				   t->size, (void *)obj, CLASS_ARGS(slot_bytes),
				   i, p[i], CANARY, name_of(t->caller, a),
				   name_of(caller, b));
	return t->size;
}

/**
 * ### Is this slot free already?
 *
 * A double free must be caught without false alarms, and cheaply. A
 * free slot carries `key`, FREE_KEY xor its own address, where a live
 * object carries the user's data. So a slot without the key is surely
 * not free, and that costs one comparison. A slot with the key is
 * *probably* free, but user data could hold the same 8 bytes, so the
 * heap makes sure: `in_cache()` looks through the class cache (16
 * entries) and `on_free_list()` walks the page's free list (at most 256
 * slots). Only a slot found there is reported. The walk checks each
 * link before it follows it, so a damaged list ends the walk with "not
 * found", never with a read somewhere random.
 *
 * The other direction is `check_free_slot()`. Before slab_alloc() hands
 * a free slot out again, it checks the slot's link (below `fresh`, on a
 * slot boundary, equal to the complement kept in `check`), its key, and,
 * with the debug checks, its poison and the freeing caller, which is
 * kept with its complement. A write into a slot after kfree()
 * is found there, at the next allocation of that slot, and
 * `damaged_slot()` names the byte and, when the slot recorded it, the
 * code that freed it.
 */
/* Is the slot at offset off on the page's free list? Stops at a bad
 * link (then the answer is no). */
static bool on_free_list(const struct page_desc *d, uint32_t page,
			 unsigned size, uint32_t off)
{
	uint32_t o = d->free;

	for (unsigned steps = 0; o != NO_SLOT && steps < PAGE_BYTES / 16;
	     steps++) {
		const struct free_slot *s =
			(const struct free_slot *)(page_va(page) + o);

		if (o == off)
			return true;
		if (o >= d->fresh || o % size != 0 || s->check != ~s->next)
			return false;
		o = s->next;
	}
	return false;
}

/* Report a free slot that was written to after kfree(). */
static COLD _Noreturn void damaged_slot(const struct free_slot *s,
					unsigned size, unsigned byte,
					uintptr_t caller)
{
	const uint8_t *p = (const uint8_t *)s;
	char a[64], b[64];

	if (byte < 16)
		heap_panic("write after free of %p (class %u bytes): its "
			   "free-list link was written over; noticed by "
			   "kmalloc from %s", (void *)s, size,
			   name_of(caller, a));
	if (byte < POISON_FROM)
		heap_panic("write after free of %p (class %u bytes): the "
			   "record of who freed it was written over; noticed "
			   "by kmalloc from %s", (void *)s, size,
			   name_of(caller, a));
	heap_panic("write after free of %p (class %u bytes): byte %u is "
		   "0x%02x, not 0x%02x; freed by %s, noticed by kmalloc from "
		   "%s", (void *)s, size, byte, p[byte], POISON,
		   name_of(s->freed_by, a), name_of(caller, b));
}

/* Debug: the poison of a free slot, before it is handed out again. */
static COLD void check_poison(const struct free_slot *s, unsigned size,
			      uintptr_t caller)
{
	const uint8_t *p = (const uint8_t *)s;

	if (s->freed_check != ~s->freed_by)
		damaged_slot(s, size, 16, caller);
	for (unsigned i = POISON_FROM; i < size; i++)
		if (p[i] != POISON)
			damaged_slot(s, size, i, caller);
}

/* The free slot at off is about to be handed out: panic if it was
 * written to since it was freed. */
static void check_free_slot(const struct page_desc *d, uint32_t page,
			    uint32_t off, uintptr_t caller)
{
	const struct size_class *sc = &heap.cls[d->cls];
	const struct free_slot *s =
		(const struct free_slot *)(page_va(page) + off);
	bool link_ok = s->next == NO_SLOT ||
		       (s->next < d->fresh && on_boundary(sc, s->next));

	if (!link_ok || s->check != ~s->next || s->key != free_key(s))
		damaged_slot(s, sc->size, 0, caller);
	if (records_freer(sc->size))
		check_poison(s, sc->size, caller);
}

static void slab_init(uint32_t page, unsigned c)
{
	struct page_desc *d = &heap.desc[page];

	d->kind = PAGE_SLAB;
	d->cls = (uint8_t)c;
	d->inuse = 0;
	d->fresh = 0;
	d->free = NO_SLOT;
	list_push(&heap.cls[c].partial, page);
	heap.cls[c].pages++;
	heap.slab_pages++;
}

/**
 * ### A small object: one slot of a slab
 *
 * `slab_alloc()` takes the class's first partial page (or a new page,
 * if there is none) and from it the first free slot, or, if no slot
 * has been freed yet, the slot at `fresh`, which then moves up by one
 * slot. A new page is therefore not cut up in advance: its slots are
 * handed out in order as they are needed. A page whose last slot goes
 * leaves the partial list. Every step is a fixed amount of work.
 */
static void *slab_alloc(unsigned c, uintptr_t caller)
{
	struct size_class *sc = &heap.cls[c];
	uint32_t page = sc->partial, off;
	struct page_desc *d;

	if (page == NO_PAGE) {
		page = pages_get(1, PAGE_SLAB);
		if (page == NO_PAGE)
			return NULL;
		slab_init(page, c);
	}
	d = &heap.desc[page];
	if (d->free != NO_SLOT) {
		off = d->free;
		check_free_slot(d, page, off, caller);
		d->free = (uint16_t)((struct free_slot *)(page_va(page) +
							  off))->next;
	} else {
		off = d->fresh;
		d->fresh = (uint16_t)(d->fresh + sc->size);
	}
	if (++d->inuse == sc->per_page)
		list_remove(&sc->partial, page);
	return (void *)(page_va(page) + off);
}

/**
 * ### Freeing a small object
 *
 * `slab_free()` runs the checks that are always on in order of cost:
 * the offset in the page must be a slot boundary (on_boundary(), one
 * multiplication), below `fresh` (one comparison), and the slot must not
 * be free already (the key, then the search above). Only then does it
 * change anything. With the debug checks, it verifies the trailer and
 * the canaries and fills the slot with poison. (A slot that is free
 * already has its free-slot fields and poison where the trailer was; if
 * its key was written over too, the search above is skipped, so a bad
 * trailer sends slab_free() to search anyway, and a slot found there is
 * reported as the double free it is, not as an overflow.) It writes the
 * key; and it puts the slot in the class cache, or, when the cache is
 * full, back on its page with `slot_to_page()`.
 *
 * `slot_to_page()` keeps invariant 3. A page that was full has a free
 * slot again, so it goes back on its class's `partial` list. A page
 * whose last slot comes back is empty and leaves its class at once, for
 * the reserve: there any class, or a large object, can use it. A class
 * that keeps its empty pages strands memory that another class may need;
 * the class cache and the reserve already make a quick refill cheap.
 */
/* Report a bad kfree() of a slot: which of slab_free()'s checks
 * failed. */
static COLD _Noreturn void bad_slot(uint32_t page, uintptr_t obj,
				    uintptr_t caller)
{
	const struct page_desc *d = &heap.desc[page];
	const struct size_class *sc = &heap.cls[d->cls];
	uint32_t off = (uint32_t)(obj & (PAGE_BYTES - 1));
	char a[64];

	if (!on_boundary(sc, off))
		heap_panic("free of %p, which is inside the object at %p "
			   "(class %u bytes), by %s", (void *)obj,
			   (void *)(obj - off % sc->size), sc->size,
			   name_of(caller, a));
	if (off >= d->fresh)
		heap_panic("free of %p (class %u bytes), a slot kmalloc never "
			   "handed out, by %s", (void *)obj, sc->size,
			   name_of(caller, a));
	heap_panic("double free of %p (class %u bytes) by %s", (void *)obj,
		   sc->size, name_of(caller, a));
}

/* The free slot s goes onto its page's free list; an empty page goes
 * back to the free pages. */
static void slot_to_page(struct free_slot *s)
{
	uintptr_t obj = (uintptr_t)s;
	uint32_t page = (uint32_t)((obj - heap.base) >> PAGE_SHIFT);
	struct page_desc *d = &heap.desc[page];
	struct size_class *sc = &heap.cls[d->cls];

	s->next = d->free;
	s->check = ~s->next;
	d->free = (uint16_t)(obj & (PAGE_BYTES - 1));
	if (d->inuse-- == sc->per_page)
		list_push(&sc->partial, page);      /* it was full */
	if (d->inuse == 0) {                        /* it is empty */
		list_remove(&sc->partial, page);
		sc->pages--;
		heap.slab_pages--;
		d->cls = FREED_SLAB;   /* before: the release may unmap the
		                          page that holds desc[page] */
		pages_release(page, 1);
	}
}

/* Is obj in its class's cache? */
static bool in_cache(const struct size_class *sc, uintptr_t obj)
{
	for (uint32_t i = 0; i < sc->cached; i++)
		if (sc->cache[i] == obj)
			return true;
	return false;
}

static void slab_free(uint32_t page, uintptr_t obj, uintptr_t caller)
{
	struct page_desc *d = &heap.desc[page];
	struct size_class *sc = &heap.cls[d->cls];
	uint32_t off = (uint32_t)(obj & (PAGE_BYTES - 1));
	struct free_slot *s = (struct free_slot *)obj;

	if (!on_boundary(sc, off) || off >= d->fresh ||
	    (s->key == free_key(s) && (in_cache(sc, obj) ||
				       on_free_list(d, page, sc->size, off))))
		bad_slot(page, obj, caller);
	if (heap.checks) {
		if (!trailer_intact(obj, sc->size) &&
		    (in_cache(sc, obj) || on_free_list(d, page, sc->size, off)))
			bad_slot(page, obj, caller);  /* key written over */
		check_object(obj, sc->size, caller);
	}
	s->next = NO_SLOT;          /* slot_to_page() links it, if need be */
	s->check = ~s->next;
	s->key = free_key(s);
	if (records_freer(sc->size)) {
		s->freed_by = caller;
		s->freed_check = ~caller;
		memset((uint8_t *)s + POISON_FROM, POISON,
		       sc->size - POISON_FROM);
	}
	sc->objects--;
	if (sc->cached < CACHE_SLOTS)
		sc->cache[sc->cached++] = obj;
	else
		slot_to_page(s);
}

/**
 * ### The class cache
 *
 * Each class keeps the last CACHE_SLOTS objects freed in it aside, and
 * hands them out first, newest first. Freeing into the cache and
 * allocating from it touch neither the page descriptor's free list nor
 * the partial list, and the object handed out is usually the one just
 * freed, still in the CPU's cache: so a kernel that frees and
 * allocates objects of one size, over and over, pays a few dozen
 * instructions per pair. A slot in the cache is still counted as used
 * by its page (so the page stays mapped), but not as an object in use.
 * This is the idea of Bonwick's magazines and of SLUB's per-CPU free
 * lists. Those give every CPU caches of its own, so that CPUs
 * allocating at the same time rarely meet at a lock; ours are shared
 * by every CPU, behind the heap lock, in every chapter of this book:
 * simpler to follow, and enough for a kernel that allocates rarely.
 *
 * A kernel that made them per CPU would have more to change:
 * slab_free(), which believes a key only once it finds the slot in a
 * cache or on its page's free list, would have to search every CPU's
 * cache (or mark cached slots), or a slot in CPU A's cache would pass
 * a second free on CPU B; and cache_drain() would have to empty every
 * CPU's cache.
 */
HOT void *cache_alloc(struct size_class *sc, uintptr_t caller)
{
	struct free_slot *s = (struct free_slot *)sc->cache[sc->cached - 1];

	if (s->check != ~s->next || s->key != free_key(s))
		damaged_slot(s, sc->size, 0, caller);
	if (records_freer(sc->size))
		check_poison(s, sc->size, caller);
	sc->cached--;              /* taken only once it passed */
	s->key = 0;                /* a live object does not look free */
	sc->objects++;
	return s;
}

HOT void *small_alloc(unsigned c, uintptr_t caller)
{
	struct size_class *sc = &heap.cls[c];
	void *p;

	if (sc->cached > 0)
		return cache_alloc(sc, caller);
	p = slab_alloc(c, caller);
	if (p) {
		((struct free_slot *)p)->key = 0;
		sc->objects++;
	}
	return p;
}

/* Put every cached slot back on its page: before heap_trim() releases
 * empty pages, and before the debug checks change. */
static void cache_drain(void)
{
	for (int c = 0; c < HEAP_CLASSES; c++)
		while (heap.cls[c].cached > 0)
			slot_to_page((struct free_slot *)
				     heap.cls[c].cache[--heap.cls[c].cached]);
}

/* ---- Large objects ---- */

/**
 * ### Large objects
 *
 * A request of more than 2048 bytes (the trailer included, when the
 * checks are on) gets a run of whole pages from `pages_get()`: from the
 * reserve if a long enough run is there, freshly mapped otherwise. Its
 * first descriptor becomes PAGE_LARGE and records the run's length;
 * every other page becomes PAGE_LARGE_TAIL and records where the run
 * starts, so that a pointer into the middle of a large object is
 * reported as "inside the object at ...", with the object's address. A
 * large object starts on a page boundary, so a small request whose
 * alignment no class offers (kmalloc_aligned(64, 4096)) is served here.
 *
 * `large_free()` gives the whole run back to the reserve, where it joins
 * its free neighbours; if that takes the reserve past 1 MiB, the heap
 * shrinks. The first page keeps FREED_LARGE in `cls`, so that a second
 * kfree() of the same pointer is reported as a double free, not as a
 * pointer the heap never returned.
 */

/* A run of pages for bytes (the request, and the trailer when the
 * debug checks are on). */
static void *large_alloc(size_t bytes)
{
	uint32_t n = (uint32_t)((bytes + PAGE_BYTES - 1) / PAGE_BYTES);
	uint32_t first = pages_get(n, PAGE_LARGE_TAIL);

	if (first == NO_PAGE)
		return NULL;
	heap.desc[first].kind = PAGE_LARGE;
	heap.desc[first].pages = n;
	for (uint32_t p = first + 1; p < first + n; p++)
		heap.desc[p].head = first;
	heap.large_runs++;
	heap.large_pages += n;
	return (void *)page_va(first);
}

static void large_free(uint32_t first, uintptr_t caller)
{
	uint32_t n = heap.desc[first].pages;

	if (heap.checks)
		check_object(page_va(first), (size_t)n * PAGE_BYTES, caller);
	heap.large_runs--;
	heap.large_pages -= n;
	heap.desc[first].cls = FREED_LARGE;   /* before, as in slab_free */
	pages_release(first, n);
}

/* ---- The entry points, with the lock held ---- */

/**
 * ## From a request to a slot or a run
 *
 * `alloc_locked()`, below, is the path of every allocation, with the
 * heap lock held:
 *
 * 1. **Refuse the absurd.** A request over 1 GiB gets NULL and a message
 *    (`too_large()`): no kernel object is that large, and a size like
 *    that is more likely a bug, a negative number turned into a size_t,
 *    than a real request.
 * 2. **Add the trailer**, when the debug checks are on.
 * 3. **Find the class.** For the usual alignment of 16, one load from
 *    `class_of`; for a larger one, `class_for()` walks up from there to
 *    the first class whose size is a multiple of the alignment.
 * 4. **Take a slot** (`small_alloc()`: the class cache, else a slab) or,
 *    for anything larger, **a run** (`large_alloc()`).
 * 5. **Arm the object**: canaries and trailer, with the debug checks.
 *
 * When memory runs out the answer is NULL. `fail()` says so once, with
 * the size, the caller and how much the heap has mapped, and afterwards
 * only counts: a kernel that copes with the NULL should not flood its
 * log, and one that does not will stop at the NULL soon enough.
 */

/* NULL, counted; the first time, with a message. */
static COLD void *fail(size_t size, uintptr_t caller)
{
	char a[64];

	heap.failures++;
	if (!heap.warned) {
		heap.warned = true;
		heap_warn("out of memory: kmalloc(%zu) from %s failed with "
			  "%lu KiB mapped; later failures are only counted",
			  size, name_of(caller, a),
			  (unsigned long)((heap.data_pages + heap.desc_pages)
					  * 4));
	}
	return NULL;
}

/* The smallest class that holds bytes and whose slots are all aligned
 * to align, or -1. */
static int class_for(size_t bytes, size_t align)
{
	if (bytes > MAX_SMALL)
		return -1;
	for (int c = heap.class_of[(bytes + 15) / 16]; c < HEAP_CLASSES; c++)
		if ((class_sizes[c] & (align - 1)) == 0)  /* align: 2^k */
			return c;
	return -1;
}

static COLD void *too_large(size_t size, uintptr_t caller)
{
	char a[64];

	heap.failures++;
	heap_warn("kmalloc(%zu) from %s: larger than the %llu MiB the heap "
		  "allows for one object", size, name_of(caller, a),
		  MAX_OBJECT >> 20);
	return NULL;
}

HOT void *alloc_locked(size_t size, size_t align, uintptr_t caller)
{
	size_t bytes = heap.checks ? size + TRAILER : size;
	int c = -1;
	void *p;

	if (size > MAX_OBJECT)
		return too_large(size, caller);
	if (bytes <= MAX_SMALL)            /* every class is 16-aligned */
		c = align <= 16 ? heap.class_of[(bytes + 15) / 16]
				: class_for(bytes, align);
	if (c >= 0) {
		p = small_alloc((unsigned)c, caller);
		bytes = class_sizes[c];
	} else {
		bytes = (bytes + PAGE_BYTES - 1) / PAGE_BYTES * PAGE_BYTES;
		p = large_alloc(bytes ? bytes : PAGE_BYTES);
	}
	if (p == NULL)
		return fail(size, caller);
	if (heap.checks)
		arm_object((uintptr_t)p, bytes, size, caller);
	return p;
}

/**
 * ### From a pointer back to its object
 *
 * `kfree(p)` is told nothing but p. `object_page()` turns p into a page
 * index with a subtraction and a shift, and accepts it only if that page
 * is a slab page, or the first page of a large object and p its first
 * byte. The range check is one comparison: p - base is unsigned, so a p
 * below the window wraps around to a huge number and fails the same test
 * as a p above the extent.
 *
 * Everything else goes to `bad_pointer()`, which is never on the common
 * path and can take its time to say *what* p is: outside the heap,
 * inside a large object (and which), a large object already freed, on a
 * slab page that was released, or on a free page. On a slab page,
 * slab_free() makes the finer distinctions (inside a slot, never handed
 * out, freed twice) with bad_slot().
 */
/* kfree(p) of something that is not an object: say what it is. */
static COLD _Noreturn void bad_pointer(uintptr_t p, uintptr_t caller)
{
	uint32_t page = (uint32_t)((p - heap.base) >> PAGE_SHIFT);
	const struct page_desc *d = &heap.desc[page];
	char a[64];

	if (p < heap.base || p >= page_va(heap.top))
		heap_panic("free of %p, which is not a heap address (the heap "
			   "is %p-%p), by %s", (void *)p, (void *)heap.base,
			   (void *)page_va(heap.top), name_of(caller, a));
	if (d->kind == PAGE_LARGE_TAIL || d->kind == PAGE_LARGE) {
		uint32_t first = d->kind == PAGE_LARGE ? page : d->head;

		heap_panic("free of %p, which is inside the object at %p "
			   "(%u pages), by %s", (void *)p,
			   (void *)page_va(first), heap.desc[first].pages,
			   name_of(caller, a));
	}
	if (d->cls == FREED_LARGE && p == page_va(page))
		heap_panic("double free of %p (a large object) by %s",
			   (void *)p, name_of(caller, a));
	if (d->cls == FREED_SLAB)
		heap_panic("double free of %p: its page of small objects was "
			   "released when they were all freed; by %s",
			   (void *)p, name_of(caller, a));
	heap_panic("free of %p, which kmalloc never returned (a free page "
		   "of the heap), by %s", (void *)p, name_of(caller, a));
}

/* The page of the object p starts: a slab page, or the first page of
 * a large object. Anything else panics. One comparison checks that p
 * lies in the extent: below base, p - base wraps to a huge number. */
HOT uint32_t object_page(uintptr_t p, uintptr_t caller)
{
	if (p - heap.base < (uintptr_t)heap.top << PAGE_SHIFT) {
		uint32_t page = (uint32_t)((p - heap.base) >> PAGE_SHIFT);
		uint8_t kind = heap.desc[page].kind;

		if (kind == PAGE_SLAB ||
		    (kind == PAGE_LARGE && p % PAGE_BYTES == 0))
			return page;
	}
	bad_pointer(p, caller);
}

HOT void free_locked(void *ptr, uintptr_t caller)
{
	uintptr_t p = (uintptr_t)ptr;
	uint32_t page = object_page(p, caller);

	if (heap.desc[page].kind == PAGE_SLAB)
		slab_free(page, p, caller);
	else
		large_free(page, caller);
}

/**
 * ### krealloc() in place
 *
 * Growing or shrinking an object by a few bytes need not move it. If a
 * new request of the new size would get the same class (or, for a large
 * object, the same number of pages), `fits_in_place()` says so, and
 * krealloc() returns p itself, with the trailer written again for the
 * new size. Otherwise it allocates the new object, copies the bytes that
 * hold data (`usable_locked()`: the size asked for, when the debug
 * checks have recorded it; the whole slot otherwise), and frees the old
 * one. If the allocation fails, the old object is left as it was, as
 * heap.h promises.
 */
/* The bytes of p that hold data: what was asked for, when the debug
 * checks are on (they know); else the whole slot or run. */
static size_t usable_locked(uintptr_t p, uintptr_t caller)
{
	uint32_t page = object_page(p, caller);
	const struct page_desc *d = &heap.desc[page];
	size_t slot = d->kind == PAGE_SLAB ? heap.cls[d->cls].size
					   : (size_t)d->pages * PAGE_BYTES;

	return heap.checks ? check_object(p, slot, caller) : slot;
}

/* Would a new request of size bytes get the same slot or run? */
static bool fits_in_place(uintptr_t p, size_t size)
{
	const struct page_desc *d = &heap.desc[(p - heap.base) >> PAGE_SHIFT];
	size_t bytes = heap.checks ? size + TRAILER : size ? size : 1;
	int c = class_for(bytes, 16);

	if (size > MAX_OBJECT)
		return false;
	if (d->kind == PAGE_SLAB)
		return c == d->cls;
	return c < 0 && (bytes + PAGE_BYTES - 1) / PAGE_BYTES == d->pages;
}

/* ---- The interface (heap.h) ---- */

/**
 * ## The interface
 *
 * Each function of heap.h takes the heap lock, does its work through the
 * `_locked` functions above, and lets go. spin_lock() also turns
 * interrupts off (spinlock.c): an interrupt handler that calls kmalloc()
 * can never arrive on this CPU while the heap is half-way through a
 * change, and then wait forever for a lock its own CPU holds.
 *
 * `CALLER` is the return address of the function it appears in: the
 * instruction right after the call to kmalloc() or kfree() in the
 * caller's code, which every report names as `function+offset`. It must
 * be read here, in the function the caller called; one level deeper it
 * would name the heap itself. kcalloc() checks the multiplication for
 * overflow (`__builtin_mul_overflow`) before it asks for memory, and
 * clears the memory after letting go of the lock: clearing takes time
 * in proportion to the size, and needs no lock.
 */

#define CALLER ((uintptr_t)__builtin_return_address(0))

void *kmalloc(size_t size)
{
	void *p;

	spin_lock(&heap.lock);
	p = alloc_locked(size, 16, CALLER);
	spin_unlock(&heap.lock);
	return p;
}

void *kmalloc_aligned(size_t size, size_t align)
{
	void *p = NULL;
	char a[64];

	spin_lock(&heap.lock);
	if (align == 0 || (align & (align - 1)) != 0 || align > PAGE_BYTES) {
		heap.failures++;
		heap_warn("kmalloc_aligned(%zu, %zu) from %s: the alignment "
			  "must be a power of two up to 4096", size, align,
			  name_of(CALLER, a));
	} else {
		p = alloc_locked(size, align < 16 ? 16 : align, CALLER);
	}
	spin_unlock(&heap.lock);
	return p;
}

void *kcalloc(size_t n, size_t size)
{
	size_t bytes;
	void *p = NULL;
	char a[64];

	spin_lock(&heap.lock);
	if (__builtin_mul_overflow(n, size, &bytes)) {
		heap.failures++;
		heap_warn("kcalloc(%zu, %zu) from %s: the size overflows",
			  n, size, name_of(CALLER, a));
	} else {
		p = alloc_locked(bytes, 16, CALLER);
	}
	spin_unlock(&heap.lock);
	if (p)
		memset(p, 0, bytes);
	return p;
}

void kfree(void *p)
{
	if (p == NULL)
		return;
	spin_lock(&heap.lock);
	free_locked(p, CALLER);
	spin_unlock(&heap.lock);
}

void *krealloc(void *p, size_t size)
{
	uintptr_t caller = CALLER;
	size_t old;
	void *q;

	if (p == NULL) {
		spin_lock(&heap.lock);
		q = alloc_locked(size, 16, caller);
		spin_unlock(&heap.lock);
		return q;
	}
	spin_lock(&heap.lock);
	old = usable_locked((uintptr_t)p, caller);
	if (fits_in_place((uintptr_t)p, size)) {
		if (heap.checks) {
			const struct page_desc *d = &heap.desc
				[((uintptr_t)p - heap.base) >> PAGE_SHIFT];
			size_t slot = d->kind == PAGE_SLAB
				? heap.cls[d->cls].size
				: (size_t)d->pages * PAGE_BYTES;

			arm_object((uintptr_t)p, slot, size, caller);
		}
		spin_unlock(&heap.lock);
		return p;
	}
	q = alloc_locked(size, 16, caller);
	if (q) {
		memcpy(q, p, old < size ? old : size);
		free_locked(p, caller);
	}
	spin_unlock(&heap.lock);
	return q;
}

/**
 * ### Giving everything back, and switching the checks
 *
 * `heap_trim()` empties the class caches first. A cached slot counts as
 * used by its page, so without this a page whose objects were all freed
 * would stay a slab page. The pages that empties go to the reserve, and
 * `reserve_shrink(0)` then unmaps the whole reserve and lets the extent
 * shrink, its descriptor pages with it.
 *
 * `heap_set_checks()` changes how every object is laid out (with the
 * checks, each one carries a trailer, and free slots carry poison), so
 * it refuses while any object is alive. It drains the class caches
 * first, because their slots were poisoned, or not, for the old setting.
 *
 * `heap_get_stats()` copies the counters under the lock, so that the
 * figures it returns belong together: the boot report (heap_setup.c),
 * the self-tests and the benchmark read the heap through it.
 */
size_t heap_trim(void)
{
	uint64_t before;

	spin_lock(&heap.lock);
	before = heap.data_pages + heap.desc_pages;
	cache_drain();
	reserve_shrink(0);
	before -= heap.data_pages + heap.desc_pages;
	spin_unlock(&heap.lock);
	return (size_t)before;
}

/* Objects handed out: slots of every class, and large objects. */
static uint64_t objects_locked(void)
{
	uint64_t n = heap.large_runs;

	for (int c = 0; c < HEAP_CLASSES; c++)
		n += heap.cls[c].objects;
	return n;
}

int heap_set_checks(bool on)
{
	int ok;

	spin_lock(&heap.lock);
	ok = objects_locked() == 0;
	if (ok) {
		cache_drain();   /* cached slots were poisoned, or not */
		heap.checks = on;
	}
	spin_unlock(&heap.lock);
	return ok ? 0 : -1;
}

void heap_get_stats(struct heap_stats *s)
{
	spin_lock(&heap.lock);
	s->data_pages = heap.data_pages;
	s->desc_pages = heap.desc_pages;
	s->reserve_pages = heap.reserve;
	s->extent_pages = heap.top;
	s->slab_pages = heap.slab_pages;
	s->large_runs = heap.large_runs;
	s->large_pages = heap.large_pages;
	s->objects = objects_locked();
	s->bytes_in_use = heap.large_pages * PAGE_BYTES;
	for (int c = 0; c < HEAP_CLASSES; c++)
		s->bytes_in_use += heap.cls[c].objects * heap.cls[c].size;
	s->grows = heap.grows;
	s->shrinks = heap.shrinks;
	s->pages_mapped = heap.pages_mapped;
	s->pages_unmapped = heap.pages_unmapped;
	s->failures = heap.failures;
	s->checks = heap.checks;
	for (int c = 0; c < HEAP_CLASSES; c++)
		s->cls[c] = (struct heap_class_stats){
			.size = heap.cls[c].size,
			.per_page = heap.cls[c].per_page,
			.pages = heap.cls[c].pages,
			.objects = heap.cls[c].objects,
		};
	spin_unlock(&heap.lock);
}

/**
 * ## Starting up
 *
 * `heap_init()` records the window, builds the table from a request's
 * size to its class, and then grows once, as Redox does: the first
 * 1 MiB of the window is mapped, as the reserve, and the extent is one
 * chunk. Nothing is allocated yet.
 */
int heap_init(uintptr_t base, size_t window, bool checks)
{
	uint32_t first, got;

	if (base % (CHUNK_PAGES * PAGE_BYTES) != 0 ||
	    window % (CHUNK_PAGES * PAGE_BYTES) != 0 || window == 0 ||
	    window / PAGE_BYTES >= NO_PAGE)
		heap_panic("heap_init: window %p + %zu bytes is not a whole "
			   "number of MiB, or too large", (void *)base, window);
	heap.base = base;
	heap.desc = (struct page_desc *)(base + window);
	heap.window_pages = (uint32_t)(window / PAGE_BYTES);
	heap.checks = checks;
	for (int set = 0; set < 2; set++)
		for (int b = 0; b < BINS; b++)
			heap.bins[set].head[b] = NO_PAGE;
	for (int c = 0, i = 0; c < HEAP_CLASSES; c++) {
		heap.cls[c] = (struct size_class){
			.size = class_sizes[c],
			.per_page = (uint16_t)(PAGE_BYTES / class_sizes[c]),
			.partial = NO_PAGE,
			.magic = UINT64_MAX / class_sizes[c] + 1,
		};
		for (; i <= class_sizes[c] / 16; i++)
			heap.class_of[i] = (uint8_t)c;
	}
	spin_lock(&heap.lock);
	first = grow(1, RESERVE_PAGES, &got);
	if (first != NO_PAGE) {
		run_put(first, got, PAGE_RESERVE);
		heap.reserve = got;
	}
	spin_unlock(&heap.lock);
	return first == NO_PAGE ? -1 : 0;
}

/**
 * ## What Redox 0.3.5 does
 *
 * Redox sets its heap up right after its GDT and IDT: it maps 1 MiB at
 * the same address as ours, 0xFFFF_FE80_0000_0000, with fresh frames
 * (present, writable, global, no-execute), and hands the megabyte to a
 * Rust crate, `linked_list_allocator` 0.5. That allocator keeps the free
 * memory as a list of *holes* sorted by address; each hole stores its
 * own size and the pointer to the next hole in its first 16 bytes.
 *
 * - **Allocating** walks the list from the lowest hole and takes the
 *   *first* one that can hold the request at its alignment (*first
 *   fit*); what is left of the hole, in front of the block (to align it)
 *   and behind it, goes back on the list as smaller holes, each freed
 *   with a walk of its own from the lowest hole.
 * - **Freeing** walks the list from the lowest hole to the place where
 *   the block belongs, links it in, and merges it with the holes just
 *   before and after it if they touch.
 * - **Growing**: when an allocation fails, Redox maps the next 1 MiB
 *   above the heap, *extends* the heap by it (a free of the new
 *   megabyte at the top), and tries again, until the request fits.
 *   Memory is never given back.
 *
 * At first reading this looks like the pleasantly simple end of the
 * design space: map a megabyte, let a library manage it, map another
 * when it runs out. The rest of this section measures what it costs.
 * (Redox also has a `slab` feature, off by default: the heap split into
 * eight equal regions, seven of them slabs of 64 to 4096 bytes and one a
 * linked list, fixed at 1 MiB, so 128 KiB for everything over 4 KiB.)
 *
 * ## First fit, and why its cost grows
 *
 * Every free walks the holes that lie below the freed block, and every
 * allocation walks the holes that are too small (or too badly aligned)
 * for it. So the cost of an operation is the number of holes it has to
 * pass, and that grows with the heap: with N objects alive and the
 * frees in random order, about N/2 holes lie between them.
 *
 * bench/bench_heap.c measures it on the build machine with a C
 * re-creation of the crate and of Redox's growing wrapper
 * (bench/firstfit.c; tests/host/test_firstfit.c pins down that it
 * behaves as described above), against our heap and the host's glibc
 * malloc. Each heap is given 2N objects of 16 to 4095 bytes, and a
 * random half is freed. Then a *replacement* frees a random live object
 * and allocates a new one of a random size; every heap runs the same
 * replacements, in batches of a fixed number. The `make bench` run the
 * tables below come from printed (on 2 December 2026, on a virtual
 * machine with two cores shared with other work, gcc 12.2, glibc 2.36;
 * nanoseconds of CPU time per replacement, the median of 7 batches):
 *
 * | live objects | ours | glibc | first fit | first fit / ours |
 * |---:|---:|---:|---:|---:|
 * | 100 | 20.4 | 45.7 | 117.2 | 5.7 |
 * | 1000 | 41.7 | 81.2 | 752.8 | 18 |
 * | 10000 | 230.1 | 557.2 | 27,866 | 121 |
 * | 100000 | 1,398.4 | 3,508.5 | 6,518,734 | 4,662 |
 *
 * At 10^5 objects a first-fit replacement takes 6.5 ms: each free walks
 * tens of thousands of holes spread over 150 MB, and nearly every step
 * is a miss in the CPU's caches. Our replacement costs the same couple
 * of hundred instructions at every N (valgrind counts 198 to 218); its
 * time grows from 20 to 1,398 ns only because 10^5 objects no longer fit
 * in the caches (and first fit's batch before each of ours has just
 * filled them with its holes), which costs glibc just as much (46 to
 * 3,509 ns).
 *
 * First fit is not slow at everything. When a request fits the first
 * hole it meets, it is as fast as anything: allocating an object and
 * freeing it again, on the same fragmented heaps, costs first fit 7 to
 * 16 ns for objects up to 1 KiB at every N (ours: 7 to 15, glibc's: 6
 * to 12), because some low hole always fits. Its cost is the holes it
 * must pass, and those are the ones that are too small: a replacement
 * leaves them behind, since a new request often does not fit the hole a
 * free just made. (In Redox, a 16-byte-aligned request in a hole that
 * starts 8 bytes off also cuts a 24-byte hole in front of the block,
 * because the crate will not leave a hole smaller than 16 bytes: such
 * holes fit almost nothing and pile up. The benchmark asks first fit
 * for 8-byte alignment, which spares it that.)
 *
 * ## Size classes and slabs
 *
 * The alternative, used by nearly every kernel heap since the 1990s, is
 * to stop searching: round each request up to one of a few *size
 * classes*, and keep, for each class, memory already cut into slots of
 * exactly that size, so that any free slot fits any request of the
 * class. Allocating is taking a slot off a list; freeing is putting it
 * back.
 *
 * Jeff Bonwick's *slab allocator* (SunOS 5.4, USENIX 1994) made this the
 * standard design. It keeps one cache per kind of object; each cache
 * owns *slabs*, one or more pages cut into objects, and lists of full,
 * partly used and empty slabs; objects may even be kept initialised
 * between uses. Seven years later, Bonwick and Adams added *magazines*:
 * small per-CPU stacks of free objects in front of each cache, so that
 * most allocations and frees touch no shared state and scale with the
 * number of CPUs. Linux's SLUB allocator (2007) is the slab idea pared
 * down: no queues, one active slab per CPU with its own free list, and a
 * fast path that is a single per-CPU compare-and-exchange; a Linux
 * commit message reports about 42 cycles (10.6 ns) for an alloc and a
 * free on a 4 GHz desktop CPU.
 *
 * Ours is a small slab allocator: classes by size, not by kind of
 * object; one page per slab; the slab's bookkeeping in its page
 * descriptor, outside the page, so all 4096 bytes hold objects; and, in
 * front of each class, a cache of 16 freed slots, a magazine for the
 * whole kernel (Linux's are per CPU; see "The class cache").
 *
 * ## Choosing the classes
 *
 * `make bench` also counts, for the small objects (up to 2048 bytes) of
 * a mixed workload (sizes from 16 to 4095 bytes, each power of two
 * equally likely), what a set of classes costs per byte asked for: the
 * slot, and the slot's share of its page (a class of s bytes puts
 * 4096 / s slots in a page and loses the rest):
 *
 * | classes | how many | slot | slot's share of its page |
 * |---|---:|---:|---:|
 * | ours | 23 | 1.139 | 1.144 |
 * | powers of two | 8 | 1.332 | 1.332 |
 * | every 16 bytes | 128 | 1.017 | 1.139 |
 * | ours, measured: slab pages / asked | 23 | | 1.262 |
 *
 * Powers of two, the classes of many small kernels, waste a third of
 * every object on average. Classes every 16 bytes waste almost nothing
 * in the slot, but lose it again at the end of the page: a 1040-byte
 * class fits 3 slots in a page, like our 1360, and a 2032-byte class 2,
 * like our 2048. Above 256 bytes each of our classes is the largest
 * size for its number of slots in a page (a few counts are left out:
 * 304 bytes would fit 13, 368 would fit 11; below, 144 would fit 28
 * where our 160 fits 25), and 23 classes cost as little as 128 would. The
 * measured figure adds the slots that are free in pages partly in use.
 * Over the whole mixed workload, large objects included, our heap maps
 * 1.39 bytes for each byte its live objects asked for (descriptors and
 * reserve counted), first fit 1.24 and glibc 1.14.
 *
 * ## Why growth must not race
 *
 * Redox's allocator takes its lock three separate times on the way to
 * more memory: once for the allocation that fails, once to read the
 * heap's size, once to extend it; in between, with no lock held, it maps
 * the next megabyte at "heap start + size". Two CPUs that run out at the
 * same moment both read the same size, and both map the same megabyte:
 * the second mapping meets pages that are already mapped, and the
 * mapper stops the kernel (or, had both succeeded, the heap would have
 * been extended twice by memory that exists once). Redox 0.3.5 runs
 * only one CPU by default, so the bug sleeps.
 *
 * Here `kmalloc()` holds the heap lock from the moment it looks at the
 * heap until it returns, growth included: a CPU that finds the heap full
 * grows it itself, under the lock, and no other CPU can look at the
 * heap's top meanwhile. Holding a lock while mapping pages is safe
 * because of the lock order (spinlock.c): the heap comes first, then the
 * page tables, then the frames; the mapper and the frame allocator never
 * call the heap, so nothing under the heap lock can ever wait for it.
 * A growth maps max(request, 256) pages: one kmalloc(64 MiB) maps some
 * 16,450 (64 of them descriptors) with the lock held and interrupts
 * off; a kernel that did that often would map large runs outside it.
 *
 * Chapter 06, with more CPUs, makes shrinking safe. A frame may be
 * reused only after every CPU's TLB forgot its page: a *TLB shootdown*
 * interrupts each other CPU and waits for its answer. A CPU spinning
 * for the heap lock has interrupts off and would never answer, so in
 * chapter 06 a CPU that waits for any lock answers flush requests
 * itself while it spins (spinlock.c), and the heap's code stays as it
 * is here.
 *
 * ## Why Redox never shrinks, and why we do
 *
 * A linked-list heap keeps its bookkeeping *inside* the free memory:
 * every hole holds a link. So it cannot unmap a free page in the middle
 * of the heap, because the next walk of the list would read it; and it
 * can only grow at the top. Redox's heap is as large as the most it ever
 * held, for as long as the machine runs.
 *
 * Ours keeps its bookkeeping in the page descriptors, outside the
 * objects, and a free page holds nothing the heap ever reads. So a page
 * can be unmapped as soon as it is free, and its frame goes back to the
 * frame allocator for page tables, stacks, or other programs. The
 * benchmark's mixed workload shows the difference: after 90% of the
 * objects are freed, our heap holds 4.8 bytes per live byte (most of it
 * the 1 MiB reserve and slabs kept partly full by the survivors); first
 * fit still holds everything it ever mapped, 12.5 bytes per live byte.
 * In the kernel, the self-test `heap_grows_64mib_and_back` grows the
 * heap by 64 MiB, frees it all in random order, and finds the frame
 * allocator's count exactly where it was.
 *
 * The price is mapping and unmapping, and the reserve keeps it small:
 * memory freed and allocated again comes back from the reserve without
 * touching a page table, and a shrink unmaps down to half the reserve,
 * so that even the worst pattern (see reserve_edge_does_not_thrash in
 * the host tests) cannot make the heap map and unmap on every call.
 *
 * ## What it costs
 *
 * | operation | work |
 * |---|---|
 * | small kmalloc | a cache pop, or a slab pop; a new slab page now and then |
 * | small kfree | the checks, then a cache push, or a slab push |
 * | large kmalloc / kfree | a bin lookup, the run's descriptors, a merge |
 * | growing | max(request, 256) pages, and a descriptor page per MiB |
 * | shrinking | at most 128 pages more than the free unmapped |
 *
 * None of this depends on how many objects are alive, or how many
 * holes there are: `make bench` counts 166 instructions for a 64-byte
 * kmalloc and kfree, and 338 for a 4096-byte one, at 10^2 live objects
 * as at 10^5. (glibc's malloc and free take about 145 for the small
 * pair: `build/bench/bench_heap --count glibc 100 64` under
 * valgrind.) The debug checks cost time in proportion to the object:
 * about twice the time for 16 bytes, fifty times for 1 KiB, which is
 * why an optimised build leaves them out.
 *
 * ## How the heap becomes *the* allocator
 *
 * How does a kernel tell its language which allocator to use? In Rust,
 * allocation is part of the language's library: `Box`, `Vec` and
 * `BTreeMap` call whatever allocator the program names with the
 * attribute `#[global_allocator]` on one static value, whose type
 * implements the `GlobalAlloc` trait: `alloc(layout)` and
 * `dealloc(ptr, layout)`, where a `Layout` is a size and an alignment.
 * Redox puts `#[global_allocator] static ALLOCATOR: allocator::Allocator`
 * in the root of its kernel crate, and from then on every `Vec::push`
 * may call into `linked_list_allocator`. Note that `dealloc` is told the
 * size: a Rust allocator never has to find it from the pointer, which
 * is what lets a linked list do without headers.
 *
 * C has no such hook. Its allocator is whatever functions the program
 * calls: there is no `malloc` in a kernel (the compiler itself only ever
 * emits calls to `memcpy`, `memset`, `memmove` and `memcmp`), and the
 * kernel "installs" its heap by defining `kmalloc()` and `kfree()` and
 * having every caller include heap.h. The choices Rust makes in its
 * trait are ours to make: `kfree()` is given only the pointer, as C's
 * `free()` is, so the heap finds the size from its page descriptors;
 * alignment is 16 unless `kmalloc_aligned()` asks for more; and running
 * out is a NULL the caller must handle, where Rust calls its
 * allocation-error handler, and Redox's panics.
 */
