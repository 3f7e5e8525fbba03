/*
 * test_heap.c: host unit tests for kernel/heap.c, the kernel heap, on a
 * window of the test program's own virtual memory.
 *
 * The file under test is included whole, so this is one program built
 * by one command (`make test` runs it):
 *
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Wall -Wextra -Werror -DHOST_TEST \
 *       -I kernel -o build/host/test_heap tests/host/test_heap.c
 *   build/host/test_heap
 *
 * The test plays the kernel's part through the hooks of heap.h: it
 * reserves a window of address space with no access, and "maps a page"
 * by allowing access to it, out of a budget of simulated frames it can
 * shrink, or fail on the Nth call, at will. A page the heap touches
 * without mapping it first, or after unmapping it, stops the test with
 * AddressSanitizer's report (or a SIGSEGV, outside the 2 MiB blocks
 * the test has used so far: see below). heap_panic()
 * jumps back into the test, which checks the message, and the heap's
 * lock is a flag that fails the test if the heap ever takes it twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sanitizer/asan_interface.h>
#ifndef __SANITIZE_ADDRESS__
#error "test_heap needs -fsanitize=address: it catches wild accesses"
#endif

#include "check.h"
#include "../../kernel/heap.c"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define WINDOW (4096 * MiB)                  /* objects: 4 GiB */
#define REGION (WINDOW + WINDOW / 256)       /* and the descriptors */
#define REGION_PAGES (REGION / PAGE_BYTES)
#define CALLER_NAME "caller"                 /* heap_caller_name() */

/* ---- The environment: a window, simulated frames, the hooks ---- */

/*
 * How a page is "mapped": not with one mprotect() per page, which
 * splits the host kernel's map of the address space a little more each
 * time (and the madvise() that gave an unmapped page back cost a TLB
 * flush each): that made this test take 20 s. Instead the window is
 * reserved with no access, and the first page the heap maps in a
 * 2 MiB block opens the whole block (one mprotect) but marks all of it
 * poisoned for AddressSanitizer (ASAN_POISON_MEMORY_REGION). Mapping a
 * page then unpoisons just that page, unmapping it poisons it again.
 * A load or store to a poisoned page, from the heap or from the test,
 * is reported by ASan as "use-after-poison" and ends the case, exactly
 * as the fault on a PROT_NONE page did; a block never opened still has
 * no access at all. (The heap is compiled into this program, with
 * ASan's checks on every access; so are memset and memcpy, which ASan
 * intercepts.)
 */
#define BLOCK (2 * MiB)

static uint8_t *window;          /* the reserved address space */
static size_t window_bytes;      /* its length */
static uint8_t mapped[REGION_PAGES / 8];  /* a bit per page: mapped? */
static bool opened[REGION / BLOCK];       /* a block made accessible? */
static uint64_t frames_used;     /* pages mapped now */
static uint64_t frames_limit;    /* at most this many */
static long fail_countdown = -1; /* the Nth heap_map_page() fails */
static int warnings;             /* heap_warn() calls */
static char last_warning[256];

/* Reserve `bytes` of address space, 1 MiB aligned (as heap_init()
 * wants), with no access: the window. */
static void window_reserve(size_t bytes)
{
	uint8_t *w = mmap(NULL, bytes + MiB, PROT_NONE, MAP_PRIVATE |
			  MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t a = ((uintptr_t)w + MiB - 1) & ~(MiB - 1);

	if (w == MAP_FAILED)
		abort();
	if (a > (uintptr_t)w)
		munmap(w, a - (uintptr_t)w);
	munmap((void *)(a + bytes), (uintptr_t)w + MiB - a);
	window = (uint8_t *)a;
	window_bytes = bytes;
}

/* Give the window back, its opened blocks unpoisoned first: ASan's
 * marks stay on addresses the host may hand out again. */
static void window_drop(void)
{
	if (!window)
		return;
	for (size_t b = 0; b < sizeof opened; b++)
		if (opened[b]) {
			ASAN_UNPOISON_MEMORY_REGION(window + b * BLOCK, BLOCK);
			opened[b] = false;
		}
	munmap(window, window_bytes);
	window = NULL;
}

static uint64_t page_number(uintptr_t va)
{
	return (va - (uintptr_t)window) / PAGE_BYTES;
}

static bool page_mapped(uintptr_t va)
{
	uint64_t n = page_number(va);

	return mapped[n / 8] & (1u << (n % 8));
}

int heap_map_page(uintptr_t va)
{
	uint64_t n = page_number(va);
	size_t b = (va - (uintptr_t)window) / BLOCK;

	if (va % PAGE_BYTES || va < (uintptr_t)window ||
	    va - (uintptr_t)window >= window_bytes || page_mapped(va)) {
		printf("heap_map_page(%#lx): bad or already mapped\n", va);
		abort();
	}
	if (fail_countdown == 0 || frames_used >= frames_limit) {
		fail_countdown = -1;
		return -1;
	}
	if (fail_countdown > 0)
		fail_countdown--;
	if (!opened[b]) {
		uint8_t *start = window + b * BLOCK;
		size_t len = window_bytes - b * BLOCK < BLOCK ?
			     window_bytes - b * BLOCK : BLOCK;

		if (mprotect(start, len, PROT_READ | PROT_WRITE) != 0)
			abort();
		ASAN_POISON_MEMORY_REGION(start, len);
		opened[b] = true;
	}
	ASAN_UNPOISON_MEMORY_REGION((void *)va, PAGE_BYTES);
	memset((void *)va, 0xEE, PAGE_BYTES);  /* frames are not cleared */
	mapped[n / 8] |= 1u << (n % 8);
	frames_used++;
	return 0;
}

static void unmap_one(uintptr_t va)
{
	uint64_t n = page_number(va);

	if (va % PAGE_BYTES || va < (uintptr_t)window ||
	    va - (uintptr_t)window >= window_bytes || !page_mapped(va)) {
		printf("heap_unmap_pages: %#lx not mapped\n", va);
		abort();
	}
	ASAN_POISON_MEMORY_REGION((void *)va, PAGE_BYTES);
	mapped[n / 8] &= ~(1u << (n % 8));
	frames_used--;
}

void heap_unmap_pages(uintptr_t va, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		unmap_one(va + (uintptr_t)i * PAGE_BYTES);
}

static jmp_buf panic_jump;
static bool panic_expected;
static char panic_message[512];

static void lock_reset(void)
{
	heap.lock.locked = 0;
	heap.lock.cpu = -1;
}

_Noreturn void heap_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(panic_message, sizeof panic_message, fmt, ap);
	va_end(ap);
	if (!panic_expected) {
		check_fail(__FILE__, __LINE__, "unexpected heap_panic: %s",
			   panic_message);
		check_end();
		exit(check_done("test_heap"));
	}
	panic_expected = false;
	lock_reset();                 /* the panic left it held */
	longjmp(panic_jump, 1);
}

void heap_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_warning, sizeof last_warning, fmt, ap);
	va_end(ap);
	warnings++;
}

const char *heap_caller_name(uintptr_t pc, char *buf, size_t len)
{
	(void)pc;
	snprintf(buf, len, CALLER_NAME);
	return buf;
}

/* The heap lock: taking it twice, or releasing it unheld, fails. */
static unsigned long lock_taken;

void spin_lock(struct spinlock *l)
{
	if (l->locked) {
		printf("FAIL %s: the heap lock was taken twice\n",
		       check_name);
		exit(1);
	}
	l->locked = 1;
	l->cpu = 0;
	lock_taken++;
}

void spin_unlock(struct spinlock *l)
{
	if (!l->locked) {
		printf("FAIL %s: the heap lock was released unheld\n",
		       check_name);
		exit(1);
	}
	l->locked = 0;
	l->cpu = -1;
}

/* Run stmt, which must call heap_panic() with exactly the message
 * built from the printf-style arguments. */
#define EXPECT_PANIC(stmt, ...)                                          \
	do {                                                             \
		char want_[512];                                         \
		snprintf(want_, sizeof want_, __VA_ARGS__);              \
		panic_message[0] = '\0';                                 \
		panic_expected = true;                                   \
		if (setjmp(panic_jump) == 0) {                           \
			stmt;                                            \
			panic_expected = false;                          \
			CHECKF(0, "no panic, want \"%s\"", want_);       \
		} else {                                                 \
			CHECKF(strcmp(panic_message, want_) == 0,        \
			       "panic \"%s\"\n   want \"%s\"",           \
			       panic_message, want_);                    \
		}                                                        \
	} while (0)

/* A fresh heap with the debug checks on or off and a budget of frames
 * (the heap's reserve and descriptor pages included). */
static void fresh_heap(bool checks, uint64_t limit)
{
	window_drop();
	window_reserve(REGION);
	memset(mapped, 0, sizeof mapped);
	memset(&heap, 0, sizeof heap);
	heap.lock = (struct spinlock)SPINLOCK_INIT("heap");
	frames_used = 0;
	frames_limit = limit;
	fail_countdown = -1;
	warnings = 0;
	last_warning[0] = 0;
	heap_init((uintptr_t)window, WINDOW, checks);
}

/* ---- Checking the heap's own structure ---- */

/**
 * ## The invariants, checked from the outside
 *
 * `check_heap()` walks every descriptor of the extent and checks the
 * four invariants of heap.c: maximal free runs with matching boundary
 * tags, each on the bin of its length exactly once; slab pages on their
 * class's partial list exactly when they have both used and free slots;
 * the reserve within 1 MiB; and every count (pages mapped, descriptor
 * pages, slab pages, objects) equal to what the descriptors and the
 * simulated page tables say.
 */
static bool on_bin(int set, uint32_t first)
{
	const struct run_bins *rb = &heap.bins[set];
	unsigned b = bin_of(heap.desc[first].pages);
	int hits = 0;

	for (uint32_t r = rb->head[b]; r != NO_PAGE; r = heap.desc[r].next)
		hits += r == first;
	return hits == 1;
}

static bool on_partial(unsigned c, uint32_t page)
{
	for (uint32_t p = heap.cls[c].partial; p != NO_PAGE;
	     p = heap.desc[p].next)
		if (p == page)
			return true;
	return false;
}

static void check_heap(void)
{
	uint64_t data = 0, reserve = 0, slabs = 0, objects = 0, runs = 0;
	uint64_t cls_pages[HEAP_CLASSES] = { 0 }, cls_obj[HEAP_CLASSES] = { 0 };
	uint64_t bin_runs = 0;

	CHECKF(heap.top % CHUNK_PAGES == 0, "top %u", heap.top);
	CHECKF(heap.desc_pages == heap.top / CHUNK_PAGES, "desc pages %lu",
	       heap.desc_pages);
	for (uint32_t c = 0; c < heap.top / CHUNK_PAGES; c++)
		CHECKF(page_mapped(desc_page_va(c)), "desc page %u", c);
	for (uint32_t p = 0; p < heap.top;) {
		const struct page_desc *d = &heap.desc[p];
		bool is_mapped = page_mapped(page_va(p));

		if (d->kind == PAGE_RESERVE || d->kind == PAGE_UNMAPPED) {
			uint32_t n = d->pages, last = p + n - 1;

			CHECKF(n > 0 && last < heap.top &&
			       heap.desc[last].pages == n,
			       "free run at %u: tags %u, %u", p, n,
			       last < heap.top ? heap.desc[last].pages : 0);
			for (uint32_t q = p; q <= last && q < heap.top; q++)
				CHECKF(heap.desc[q].kind == d->kind &&
				       page_mapped(page_va(q)) ==
				       (d->kind == PAGE_RESERVE),
				       "page %u in the run at %u", q, p);
			CHECKF(p == 0 || heap.desc[p - 1].kind != d->kind,
			       "run at %u not merged left", p);
			CHECKF(last + 1 >= heap.top ||
			       heap.desc[last + 1].kind != d->kind,
			       "run at %u not merged right", p);
			CHECKF(on_bin(d->kind == PAGE_RESERVE, p),
			       "run at %u not on its bin once", p);
			if (d->kind == PAGE_RESERVE) {
				reserve += n;
				data += n;
			}
			bin_runs++;
			p += n ? n : 1;
		} else if (d->kind == PAGE_SLAB) {
			struct size_class *sc = &heap.cls[d->cls];

			CHECKF(is_mapped, "slab page %u unmapped", p);
			CHECKF(d->inuse > 0 && d->inuse <= sc->per_page,
			       "slab %u: %u in use", p, d->inuse);
			CHECKF(on_partial(d->cls, p) ==
			       (d->inuse < sc->per_page),
			       "slab %u: partial list", p);
			cls_pages[d->cls]++;
			cls_obj[d->cls] += d->inuse;
			objects += d->inuse;
			slabs++;
			data++;
			p++;
		} else if (d->kind == PAGE_LARGE) {
			CHECKF(d->pages > 0 && p + d->pages <= heap.top,
			       "large at %u: %u pages", p, d->pages);
			for (uint32_t q = p + 1; q < p + d->pages; q++)
				CHECKF(heap.desc[q].kind == PAGE_LARGE_TAIL &&
				       heap.desc[q].head == p,
				       "large at %u: tail %u", p, q);
			for (uint32_t q = p; q < p + d->pages; q++)
				CHECKF(page_mapped(page_va(q)), "large %u", q);
			objects++;
			runs++;
			data += d->pages;
			p += d->pages ? d->pages : 1;
		} else {
			CHECKF(0, "page %u has kind %u", p, d->kind);
			p++;
		}
	}
	for (int set = 0; set < 2; set++)
		for (int b = 0; b < BINS; b++) {
			bool any = heap.bins[set].head[b] != NO_PAGE;

			CHECKF(any == !!(heap.bins[set].nonempty[b / 64] &
					 (1ull << (b % 64))),
			       "bin %d/%d bit", set, b);
			for (uint32_t r = heap.bins[set].head[b]; r != NO_PAGE;
			     r = heap.desc[r].next)
				bin_runs--;
		}
	CHECKF(bin_runs == 0, "%ld runs on bins but not in the extent",
	       -(long)bin_runs);
	CHECKF(reserve == heap.reserve && reserve <= RESERVE_PAGES,
	       "reserve %lu, counted %u", reserve, heap.reserve);
	CHECKF(data == heap.data_pages, "data pages %lu, counted %lu", data,
	       heap.data_pages);
	CHECKF(frames_used == heap.data_pages + heap.desc_pages,
	       "frames %lu, heap says %lu + %lu", frames_used,
	       heap.data_pages, heap.desc_pages);
	for (int c = 0; c < HEAP_CLASSES; c++) {
		const struct size_class *sc = &heap.cls[c];

		CHECKF(sc->cached <= CACHE_SLOTS, "class %u cache", sc->size);
		for (uint32_t i = 0; i < sc->cached && i < CACHE_SLOTS; i++) {
			uintptr_t o = sc->cache[i];
			uint32_t pg = (uint32_t)((o - heap.base) / PAGE_BYTES);
			const struct free_slot *fs = (const void *)o;

			CHECKF(pg < heap.top && heap.desc[pg].kind ==
			       PAGE_SLAB && heap.desc[pg].cls == c &&
			       fs->key == free_key(fs) &&
			       !on_free_list(&heap.desc[pg], pg, sc->size,
					     (uint32_t)(o % PAGE_BYTES)),
			       "class %u: cached slot %#lx", sc->size, o);
			for (uint32_t j = 0; j < i; j++)
				CHECKF(sc->cache[j] != o, "cached twice");
		}
		objects -= sc->cached;      /* used by pages, not by users */
	}
	CHECKF(slabs == heap.slab_pages && runs == heap.large_runs &&
	       objects == objects_locked(), "slabs %lu/%lu runs %lu/%lu "
	       "objects %lu/%lu", slabs, heap.slab_pages, runs,
	       heap.large_runs, objects, objects_locked());
	for (int c = 0; c < HEAP_CLASSES; c++)
		CHECKF(cls_pages[c] == heap.cls[c].pages &&
		       cls_obj[c] == heap.cls[c].objects + heap.cls[c].cached,
		       "class %d counts", c);
}

/* Slab pages kept only by slots in the class caches: a page none
 * of whose slots is in use, except by a cache. */
static uint64_t kept_pages(void)
{
	uint64_t n = 0;

	for (uint32_t p = 0; p < heap.top; p++) {
		const struct page_desc *d = &heap.desc[p];
		unsigned cached = 0;

		if (d->kind != PAGE_SLAB)
			continue;
		for (uint32_t i = 0; i < heap.cls[d->cls].cached; i++)
			cached += (heap.cls[d->cls].cache[i] - heap.base) /
				  PAGE_BYTES == p;
		n += cached == d->inuse;
	}
	return n;
}

/* Nothing is mapped at or above top, in the whole window. */
static void check_nothing_above_top(void)
{
	uint64_t first = heap.top, n = WINDOW / PAGE_BYTES;

	for (uint64_t p = first; p < n; p++)
		if (mapped[p / 8] & (1u << (p % 8))) {
			CHECKF(0, "page %lu mapped above top %u", p, heap.top);
			return;
		}
	for (uint64_t c = heap.top / CHUNK_PAGES; c < n / CHUNK_PAGES; c++)
		if (page_mapped(desc_page_va((uint32_t)c))) {
			CHECKF(0, "descriptor page %lu above top", c);
			return;
		}
}

/* ---- The reference model ---- */

/**
 * ## Random operations against a model
 *
 * The model is a list of the live objects: address, size, alignment.
 * Each object is filled with a pattern derived from its own address
 * (its first and last 8 bytes hold a hash of the address, the bytes in
 * between one byte of it), and the pattern is checked before the
 * object is freed or resized. Two objects that overlapped would damage
 * each other's pattern; every 50,000 operations the model also sorts
 * the live objects and checks that no two overlap, and check_heap()
 * checks the heap's invariants. Sizes run from 0 to 64 KiB, log-
 * uniformly (every power of two equally likely), alignments from 8 to
 * 4096.
 */
struct obj {
	uint8_t *p;
	size_t size, align;
};

#define MAX_LIVE 4096
static struct obj live[MAX_LIVE];
static size_t nlive;

static uint64_t mix(uintptr_t a)
{
	a ^= a >> 33;
	a *= 0xFF51AFD7ED558CCDull;
	a ^= a >> 33;
	return a;
}

static void fill(uint8_t *p, size_t n)
{
	uint64_t h = mix((uintptr_t)p), t = ~h;

	memset(p, (uint8_t)h, n);
	if (n >= 16) {
		memcpy(p, &h, 8);
		memcpy(p + n - 8, &t, 8);
	}
}

/* Does p[0 .. n) hold the pattern of an object at `base` of `size`
 * bytes (n <= size: a prefix)? */
static bool intact_as(const uint8_t *p, size_t n, const uint8_t *base,
		      size_t size)
{
	uint64_t h = mix((uintptr_t)base), t = ~h;
	uint8_t v = (uint8_t)h, want[8];
	size_t i = 0, mid = size < 16 || n < size - 8 ? n : size - 8;

	if (size >= 16) {
		memcpy(want, &h, 8);
		for (; i < 8 && i < n; i++)
			if (p[i] != want[i])
				return false;
	}
	/* p[i .. mid) must all be v. Rather than a byte at a time (the
	 * test's hottest loop, under ASan), one memcmp of the range with
	 * itself shifted by a byte: it is equal iff every byte equals
	 * the next, so iff all equal the first, which must be v. */
	if (i < mid) {
		if (p[i] != v || memcmp(p + i, p + i + 1, mid - i - 1) != 0)
			return false;
		i = mid;
	}
	memcpy(want, &t, 8);
	for (; i < n; i++)
		if (p[i] != want[i - (size - 8)])
			return false;
	return true;
}

static bool intact(const struct obj *o)
{
	return intact_as(o->p, o->size, o->p, o->size);
}

/* A size from 0 to 64 KiB: a power of two 2^k, k = 0..16 equally
 * likely, then uniform below it. */
static size_t random_size(void)
{
	if (below(100) == 0)
		return 0;
	return 1 + below(1ull << below(17));
}

static bool in_window(const uint8_t *p, size_t n)
{
	return p >= window && p + n <= window + WINDOW;
}

static void model_add(uint8_t *p, size_t size, size_t align)
{
	CHECKF(p != NULL, "allocation of %zu failed", size);
	if (p == NULL)
		return;
	CHECKF((uintptr_t)p % align == 0, "%p not aligned to %zu",
	       (void *)p, align);
	CHECKF(in_window(p, size), "%p outside the window", (void *)p);
	fill(p, size);
	live[nlive++] = (struct obj){ p, size, align };
}

static void model_free(size_t i)
{
	CHECKF(intact(&live[i]), "object %p (%zu bytes) damaged",
	       (void *)live[i].p, live[i].size);
	kfree(live[i].p);
	live[i] = live[--nlive];
}

static int by_address(const void *a, const void *b)
{
	const struct obj *x = a, *y = b;

	return x->p < y->p ? -1 : x->p > y->p;
}

/* Every live object intact, and no two overlapping. */
static void check_model(void)
{
	for (size_t i = 0; i < nlive; i++)
		CHECKF(intact(&live[i]), "object %p damaged",
		       (void *)live[i].p);
	qsort(live, nlive, sizeof live[0], by_address);
	for (size_t i = 1; i < nlive; i++) {
		size_t prev = live[i - 1].size ? live[i - 1].size : 1;

		CHECKF(live[i - 1].p + prev <= live[i].p,
		       "%p (%zu bytes) overlaps %p", (void *)live[i - 1].p,
		       live[i - 1].size, (void *)live[i].p);
	}
}

static void op_realloc(void)
{
	static uint8_t before[64 * 1024];
	size_t i = below(nlive), size = random_size(), keep;
	struct obj o = live[i];
	uint8_t *q;

	CHECKF(intact(&o), "object %p damaged before krealloc",
	       (void *)o.p);
	keep = o.size < size ? o.size : size;
	memcpy(before, o.p, keep);
	q = krealloc(o.p, size);
	CHECKF(q != NULL, "krealloc to %zu failed", size);
	if (q == NULL)
		return;
	CHECKF(memcmp(q, before, keep) == 0, "krealloc lost data");
	CHECKF((uintptr_t)q % 16 == 0, "krealloc result %p", (void *)q);
	live[i] = live[--nlive];
	model_add(q, size, 16);
}

static void op_alloc(void)
{
	size_t size = random_size(), align = 16;
	uint64_t r = below(100);
	uint8_t *p;

	if (r < 70) {
		p = kmalloc(size);
	} else if (r < 80) {
		align = 1ull << (3 + below(10));
		p = kmalloc_aligned(size, align);
	} else if (r < 85) {
		size_t n = 1 + below(8);

		size = size / n * n;
		p = kcalloc(n, size / n);
		for (size_t k = 0; p && k < size; k++)
			if (p[k] != 0) {
				CHECKF(0, "kcalloc byte %zu not zero", k);
				break;
			}
	} else if (nlive > 0) {
		op_realloc();
		return;
	} else {
		p = kmalloc(size);
	}
	model_add(p, size, align < 16 ? 16 : align);
}

static void random_ops(bool checks, long ops, uint64_t seed)
{
	check_begin("random_%ld_ops_checks_%s", ops, checks ? "on" : "off");
	fresh_heap(checks, UINT64_MAX);
	check_seed(seed);
	nlive = 0;
	for (long i = 0; i < ops && !check_case_failed; i++) {
		bool grow = nlive == 0 ||
			    (nlive < MAX_LIVE &&
			     below(100) < (nlive < 2000 ? 60u : 40u));

		if (grow)
			op_alloc();
		else
			model_free(below(nlive));
		if (i % 50000 == 49999) {
			check_heap();
			check_model();
		}
	}
	CHECKF(heap.grows > 10 && heap.shrinks > 10,
	       "grew %lu and shrank %lu times", heap.grows, heap.shrinks);
	while (nlive > 0)
		model_free(nlive - 1);
	check_heap();
	CHECKF(objects_locked() == 0 && heap.large_pages == 0,
	       "%lu objects left", objects_locked());
	CHECKF(frames_used == heap.reserve + kept_pages() + heap.desc_pages,
	       "after freeing everything: %lu frames, reserve %u",
	       frames_used, heap.reserve);
	heap_trim();
	check_heap();
	check_nothing_above_top();
	CHECKF(frames_used == 0 && heap.top == 0,
	       "after heap_trim(): %lu frames, top %u", frames_used,
	       heap.top);
	CHECKF(warnings == 0, "warned: %s", last_warning);
	check_end();
}

/* ---- Classes, alignment, the defined results ---- */

/* Every size up to 2048 (and past it) gets the smallest class that
 * holds it, with the trailer when the checks are on; every class's
 * slots are 16-byte aligned and fill a page as well as it can. */
static void classes_smallest_fit(void)
{
	for (int on = 0; on < 2; on++) {
		fresh_heap(on, UINT64_MAX);
		for (size_t size = 0; size <= 2100; size++) {
			uint8_t *p = kmalloc(size);
			size_t need = (on ? size + TRAILER : size);
			const struct page_desc *d =
				&heap.desc[page_number((uintptr_t)p)];
			int want = -1;

			need = need ? need : 1;
			for (int c = HEAP_CLASSES - 1; c >= 0; c--)
				if (class_sizes[c] >= need)
					want = c;
			CHECKF((uintptr_t)p % 16 == 0, "size %zu: %p", size,
			       (void *)p);
			if (want >= 0)
				CHECKF(d->kind == PAGE_SLAB && d->cls == want,
				       "size %zu (checks %d): class %u, want "
				       "%d",
				       size, on, d->cls, want);
			else
				CHECKF(d->kind == PAGE_LARGE, "size %zu", size);
			kfree(p);
		}
		check_heap();
	}
	for (int c = 0; c < HEAP_CLASSES; c++) {
		unsigned size = class_sizes[c];

		CHECKF(size % 16 == 0, "class %u", size);
		CHECKF(c == 0 || PAGE_BYTES / size < PAGE_BYTES /
		       class_sizes[c - 1], "classes %u and %u both fit %u "
		       "slots in a page: %u is no use", class_sizes[c - 1],
		       size, PAGE_BYTES / size, class_sizes[c - 1]);
	}
}

static void aligned_every_power(void)
{
	fresh_heap(true, UINT64_MAX);
	for (size_t align = 1; align <= 4096; align *= 2)
		for (size_t size = 0; size < 9000; size += 1 + size / 3) {
			uint8_t *p = kmalloc_aligned(size, align);

			CHECKF(p && (uintptr_t)p % align == 0 &&
			       (uintptr_t)p % 16 == 0,
			       "kmalloc_aligned(%zu, %zu) = %p", size, align,
			       (void *)p);
			if (p) {
				fill(p, size);
				CHECK(intact_as(p, size, p, size));
				kfree(p);
			}
		}
	check_heap();
	CHECKF(warnings == 0, "warned: %s", last_warning);
	for (size_t bad = 0; bad < 3; bad++) {
		size_t align = (size_t[]){ 0, 24, 8192 }[bad];
		char want[200];

		uint64_t failed = heap.failures;

		CHECK(kmalloc_aligned(64, align) == NULL);
		CHECK(heap.failures == failed + 1);
		snprintf(want, sizeof want, "kmalloc_aligned(64, %zu) from "
			 CALLER_NAME ": the alignment must be a power of two "
			 "up to 4096", align);
		CHECKF(strcmp(last_warning, want) == 0, "warned \"%s\"",
		       last_warning);
	}
	CHECK(warnings == 3);
}

static void defined_results(void)
{
	uint8_t *a, *b, *c;

	fresh_heap(true, UINT64_MAX);
	kfree(NULL);                          /* does nothing */
	a = kmalloc(0);
	b = kmalloc(0);
	CHECKF(a && b && a != b, "kmalloc(0): %p, %p", (void *)a, (void *)b);
	kfree(a);
	kfree(b);
	c = kcalloc(0, 100);
	CHECK(c != NULL);
	kfree(c);
	CHECK(kcalloc(SIZE_MAX / 2, 3) == NULL);
	CHECKF(strcmp(last_warning, "kcalloc(9223372036854775807, 3) from "
		      CALLER_NAME ": the size overflows") == 0,
	       "warned \"%s\"", last_warning);
	CHECK(kmalloc(SIZE_MAX) == NULL);
	CHECKF(strcmp(last_warning, "kmalloc(18446744073709551615) from "
		      CALLER_NAME ": larger than the 1024 MiB the heap allows "
		      "for one object") == 0, "warned \"%s\"", last_warning);
	CHECK(kmalloc((1ull << 30) + 1) == NULL);
	CHECK(warnings == 3 && heap.failures == 3);
	check_heap();
	CHECK(objects_locked() == 0);
}

static void realloc_cases(void)
{
	uint8_t *p, *q;

	fresh_heap(true, UINT64_MAX);
	p = krealloc(NULL, 40);               /* kmalloc(40) */
	CHECK(p != NULL);
	fill(p, 40);
	q = krealloc(p, 44);                  /* same class (64): in place */
	CHECK(q == p && intact_as(q, 40, p, 40));
	q = krealloc(p, 10);                  /* class 32: moves */
	CHECK(q != p && intact_as(q, 10, p, 40));
	p = q;
	fill(p, 10);
	q = krealloc(p, 100000);              /* a run of 25 pages */
	CHECK(q && intact_as(q, 10, p, 10));
	p = q;
	fill(p, 100000);
	q = krealloc(p, 99000);               /* same 25 pages: in place */
	CHECK(q == p && intact_as(q, 99000, p, 100000));
	q = krealloc(p, 0);                   /* an empty object */
	CHECK(q && q != p);
	kfree(q);
	p = kmalloc(500);
	fill(p, 500);
	frames_limit = frames_used;           /* no more frames */
	heap_trim();
	frames_limit = frames_used;
	q = krealloc(p, 200000);
	CHECK(q == NULL && intact_as(p, 500, p, 500));
	kfree(p);
	check_heap();
	CHECK(objects_locked() == 0);
}

/* The debug checks can only be switched while nothing is allocated. */
static void set_checks_only_when_empty(void)
{
	void *p;

	fresh_heap(true, UINT64_MAX);
	p = kmalloc(10);
	CHECK(heap_set_checks(false) == -1 && heap.checks);
	kfree(p);
	CHECK(heap_set_checks(false) == 0 && !heap.checks);
	p = kmalloc(10);
	kfree(p);
	CHECK(heap_set_checks(true) == 0 && heap.checks);
}

/* Every entry point takes the lock exactly once (and spin_lock() above
 * fails the test if the heap ever re-enters itself). */
static void lock_once_per_call(void)
{
	unsigned long before;
	void *p;

	fresh_heap(true, UINT64_MAX);
	before = lock_taken;
	p = kmalloc(100);
	CHECK(lock_taken == before + 1);
	p = krealloc(p, 5000);
	CHECK(lock_taken == before + 2);
	kfree(p);
	CHECK(lock_taken == before + 3);
	heap_trim();
	CHECK(lock_taken == before + 4 && !heap.lock.locked);
}

/* ---- Bad input ---- */

/**
 * ## Every misuse, with its message
 *
 * Each case makes one mistake and checks the exact message. heap.c
 * makes its checks before it changes anything, so after the panic the
 * heap must still pass check_heap().
 */
static void bad_not_a_heap_address(void)
{
	int local;

	fresh_heap(true, UINT64_MAX);
	EXPECT_PANIC(kfree(&local), "free of %p, which is not a heap "
		     "address (the heap is %p-%p), by " CALLER_NAME,
		     (void *)&local, (void *)window,
		     (void *)(window + MiB));
	EXPECT_PANIC(kfree(window + 5 * MiB), "free of %p, which is not a "
		     "heap address (the heap is %p-%p), by " CALLER_NAME,
		     (void *)(window + 5 * MiB), (void *)window,
		     (void *)(window + MiB));
	EXPECT_PANIC(kfree(window + 100 * PAGE_BYTES), "free of %p, which "
		     "kmalloc never returned (a free page of the heap), by "
		     CALLER_NAME, (void *)(window + 100 * PAGE_BYTES));
	check_heap();
}

static void bad_interior_pointers(void)
{
	uint8_t *small, *large;

	fresh_heap(true, UINT64_MAX);
	small = kmalloc(100);                 /* class 128 */
	large = kmalloc(10000);               /* 3 pages */
	EXPECT_PANIC(kfree(small + 8), "free of %p, which is inside the "
		     "object at %p (class 128 bytes), by " CALLER_NAME,
		     (void *)(small + 8), (void *)small);
	EXPECT_PANIC(kfree(large + 16), "free of %p, which is inside the "
		     "object at %p (3 pages), by " CALLER_NAME,
		     (void *)(large + 16), (void *)large);
	EXPECT_PANIC(kfree(large + 2 * PAGE_BYTES), "free of %p, which is "
		     "inside the object at %p (3 pages), by " CALLER_NAME,
		     (void *)(large + 2 * PAGE_BYTES), (void *)large);
	check_heap();
	kfree(small);
	kfree(large);
	check_heap();
}

static void bad_never_handed_out(void)
{
	uint8_t *p;

	fresh_heap(true, UINT64_MAX);
	p = kmalloc(40);                      /* class 64, first slot */
	EXPECT_PANIC(kfree(p + 64), "free of %p (class 64 bytes), a slot "
		     "kmalloc never handed out, by " CALLER_NAME,
		     (void *)(p + 64));
	kfree(p);
	check_heap();
}

static void double_free_with_checks(bool on)
{
	uint8_t *a, *b, *big, *keep;

	fresh_heap(on, UINT64_MAX);
	a = kmalloc(20);                      /* class 48 with checks, 32 */
	b = kmalloc(20);                      /* without */
	keep = kmalloc(3 * PAGE_BYTES);       /* keeps the extent up */
	kfree(a);
	EXPECT_PANIC(kfree(a), "double free of %p (class %u bytes) by "
		     CALLER_NAME, (void *)a, on ? 48 : 32);
	check_heap();
	kfree(b);                             /* the page's last object */
	EXPECT_PANIC(kfree(b), "double free of %p (class %u bytes) by "
		     CALLER_NAME, (void *)b, on ? 48 : 32);
	heap_trim();                          /* the kept page goes, too */
	EXPECT_PANIC(kfree(b), "double free of %p: its page of small "
		     "objects was released when they were all freed; by "
		     CALLER_NAME, (void *)b);
	big = kmalloc(3 * PAGE_BYTES);
	kfree(big);
	EXPECT_PANIC(kfree(big), "double free of %p (a large object) by "
		     CALLER_NAME, (void *)big);
	kfree(keep);
	check_heap();
}

static void bad_double_free(void)
{
	double_free_with_checks(false);
	double_free_with_checks(true);
}

/* A second free after a write over the slot's key skips the search the
 * key starts; the trailer, gone since the first free, starts it again,
 * and the message names the double free, not an overflow. */
static void double_free_after_key_written(void)
{
	uint8_t *x[18];

	fresh_heap(true, UINT64_MAX);
	for (int i = 0; i < 18; i++)
		x[i] = kmalloc(40);           /* class 64 */
	kfree(x[0]);                          /* into the class cache */
	x[0][8] ^= 0xFF;                      /* the key */
	EXPECT_PANIC(kfree(x[0]), "double free of %p (class 64 bytes) by "
		     CALLER_NAME, (void *)x[0]);
	x[0][8] ^= 0xFF;
	for (int i = 1; i < 16; i++)
		kfree(x[i]);                  /* the cache is full */
	kfree(x[16]);                         /* onto its page's list */
	x[16][12] ^= 0x01;
	EXPECT_PANIC(kfree(x[16]), "double free of %p (class 64 bytes) by "
		     CALLER_NAME, (void *)x[16]);
	x[16][12] ^= 0x01;
	check_heap();
	for (int i = 0; i < 17; i++)
		CHECK(kmalloc(40) != NULL);   /* all pass the poison check */
}

/* The gap, as in chapter 04: once the slot is handed out again, a
 * stale free looks exactly like the new owner's. */
static void double_free_after_reuse_not_detected(void)
{
	uint8_t *a, *b;

	fresh_heap(true, UINT64_MAX);
	a = kmalloc(64);
	kfree(a);
	b = kmalloc(64);
	CHECK(b == a);
	kfree(a);                              /* accepted: frees b */
	CHECK(objects_locked() == 0);
	check_heap();
}

static void bad_overflow(void)
{
	uint8_t *p;

	fresh_heap(true, UINT64_MAX);
	p = kmalloc(20);                      /* class 48: 12 canary bytes */
	p[20] = 0;
	EXPECT_PANIC(kfree(p), "overflow past the 20 bytes of %p (class 48 "
		     "bytes): byte 20 is 0x00, not 0xca; allocated by "
		     CALLER_NAME ", freed by " CALLER_NAME, (void *)p);
	p[20] = CANARY;
	kfree(p);
	p = kmalloc(32);                      /* class 48: no canary left */
	p[33] = 7;                            /* into the trailer */
	EXPECT_PANIC(kfree(p), "overflow past the end of %p (class 48 bytes)"
		     ": its trailer at %p was written over; freed by "
		     CALLER_NAME, (void *)p, (void *)(p + 32));
	p = kmalloc(5000);                    /* 2 pages */
	p[5001] = 1;
	EXPECT_PANIC(kfree(p), "overflow past the 5000 bytes of %p (large, 2"
		     " pages): byte 5001 is 0x01, not 0xca; allocated by "
		     CALLER_NAME ", freed by " CALLER_NAME, (void *)p);
	p = kmalloc(0);                       /* nothing may be written */
	p[0] = 1;
	EXPECT_PANIC(kfree(p), "overflow past the end of %p (class 16 bytes)"
		     ": its trailer at %p was written over; freed by "
		     CALLER_NAME, (void *)p, (void *)p);
	EXPECT_PANIC(krealloc(p, 100), "overflow past the end of %p (class "
		     "16 bytes): its trailer at %p was written over; freed by "
		     CALLER_NAME, (void *)p, (void *)p);
	check_heap();
}

static void bad_write_after_free(void)
{
	uint8_t *p, *q, saved[16];

	fresh_heap(true, UINT64_MAX);
	q = kmalloc(40);                      /* keeps the page in use */
	p = kmalloc(40);                      /* class 64 */
	kfree(p);
	p[40] = 1;                            /* into the poison */
	EXPECT_PANIC(kmalloc(48), "write after free of %p (class 64 bytes): "
		     "byte 40 is 0x01, not 0xdf; freed by " CALLER_NAME ", "
		     "noticed by kmalloc from " CALLER_NAME, (void *)p);
	p[40] = POISON;
	p[2] = 0x55;                          /* into the link */
	EXPECT_PANIC(kmalloc(48), "write after free of %p (class 64 bytes): "
		     "its free-list link was written over; noticed by kmalloc"
		     " from " CALLER_NAME, (void *)p);
	p[2] = 0;                             /* the link was NO_SLOT */
	for (volatile int at = 16; at < 32; at += 8) { /* freed_by, ~it */
		volatile uint8_t was = p[at];

		p[at] ^= 0x11;
		EXPECT_PANIC(kmalloc(48), "write after free of %p (class 64 "
			     "bytes): the record of who freed it was written "
			     "over; noticed by kmalloc from " CALLER_NAME,
			     (void *)p);
		p[at] = was;
	}
	CHECK(kmalloc(48) == p);
	kfree(p);
	check_heap();
	(void)q;

	/* Without the debug checks, the link is still checked. */
	fresh_heap(false, UINT64_MAX);
	q = kmalloc(40);
	p = kmalloc(40);                      /* class 48 */
	kfree(p);
	memcpy(saved, p, 16);
	memset(p, 0, 16);
	EXPECT_PANIC(kmalloc(40), "write after free of %p (class 48 bytes): "
		     "its free-list link was written over; noticed by kmalloc"
		     " from " CALLER_NAME, (void *)p);
	memcpy(p, saved, 16);                 /* undo the damage */
	check_heap();
}

/* The checks that are always on, each made to fail on its own: a
 * write over a free slot's key only (bytes 8-15), in the class cache
 * and on the page's free list; a link forged above `fresh` with the
 * matching complement; a trailer copied from another object. */
#define LINK_OVER "its free-list link was written over; noticed by " \
		  "kmalloc from " CALLER_NAME

static void always_on_checks_fail(void)
{
	uint8_t *a[18], *keep, key[8];
	struct free_slot *s;

	fresh_heap(false, UINT64_MAX);
	keep = kmalloc(40);                   /* class 48, keeps the page */
	for (int i = 0; i < 18; i++)
		a[i] = kmalloc(40);
	kfree(a[0]);                          /* into the class cache */
	memcpy(key, a[0] + 8, 8);
	memset(a[0] + 8, 0, 8);
	EXPECT_PANIC(kmalloc(40), "write after free of %p (class 48 bytes): "
		     LINK_OVER, (void *)a[0]);
	memcpy(a[0] + 8, key, 8);
	CHECK(kmalloc(40) == a[0]);
	for (int i = 0; i < 17; i++)          /* 16 fill the cache, */
		kfree(a[i]);                  /* a[16] goes to its page */
	for (int i = 15; i >= 0; i--)
		CHECK(kmalloc(40) == a[i]);   /* the cache, newest first */
	memcpy(key, a[16] + 8, 8);
	memset(a[16] + 8, 0, 8);
	EXPECT_PANIC(kmalloc(40), "write after free of %p (class 48 bytes): "
		     LINK_OVER, (void *)a[16]);
	memcpy(a[16] + 8, key, 8);
	s = (struct free_slot *)a[16];
	CHECK(s->next == NO_SLOT);
	s->next = heap.desc[page_number((uintptr_t)s)].fresh + 48;
	s->check = ~s->next;                  /* on a boundary, and matching */
	EXPECT_PANIC(kmalloc(40), "write after free of %p (class 48 bytes): "
		     LINK_OVER, (void *)a[16]);
	s->next = NO_SLOT;
	s->check = ~s->next;
	CHECK(kmalloc(40) == a[16]);
	for (int i = 0; i < 18; i++)
		kfree(a[i]);
	kfree(keep);
	check_heap();

	/* A trailer that is whole, but another object's. */
	fresh_heap(true, UINT64_MAX);
	a[0] = kmalloc(20);                   /* class 48, trailer at +32 */
	a[1] = kmalloc(20);
	memcpy(key, a[1] + 32, 8);
	memcpy(a[1] + 32, a[0] + 32, 8);      /* size and check words */
	EXPECT_PANIC(kfree(a[1]), "overflow past the end of %p (class 48 "
		     "bytes): its trailer at %p was written over; freed by "
		     CALLER_NAME, (void *)a[1], (void *)(a[1] + 32));
	memcpy(a[1] + 32, key, 8);
	kfree(a[1]);
	kfree(a[0]);
	check_heap();
}

/* ---- Running out, and getting memory back ---- */

/**
 * ## Exhaustion and recovery
 *
 * With a budget of frames, allocations succeed until the budget is
 * spent, then return NULL; the message comes once, however many
 * requests fail. After everything is freed, the frames return to the
 * budget and allocations work again.
 */
static void exhaustion_and_recovery(void)
{
	static void *got[1000];
	size_t n = 0, small = 0;
	uint64_t reserve0;

	fresh_heap(true, 600);
	reserve0 = frames_used;
	CHECK(reserve0 == RESERVE_PAGES + 1);     /* 1 MiB + descriptors */
	while (n < 1000 && (got[n] = kmalloc(4096)) != NULL)
		n++;
	CHECKF(n > 100 && n < 1000 && frames_used <= 600, "%zu objects, "
	       "%lu frames", n, frames_used);
	for (int i = 0; i < 10; i++)
		CHECK(kmalloc(4096) == NULL);
	CHECKF(warnings == 1 && heap.failures == 11, "%d warnings, %lu "
	       "failures", warnings, heap.failures);
	{
		char want[200];

		snprintf(want, sizeof want, "out of memory: kmalloc(4096) "
			 "from " CALLER_NAME " failed with %lu KiB mapped; "
			 "later failures are only counted", frames_used * 4);
		CHECKF(strcmp(last_warning, want) == 0, "warned \"%s\"",
		       last_warning);
	}
	check_heap();
	while (n > 0)
		kfree(got[--n]);
	while (small < 1000 && (got[small] = kmalloc(100)) != NULL)
		small++;
	CHECKF(small == 1000, "only %zu small objects after freeing", small);
	while (small > 0)
		kfree(got[--small]);
	check_heap();
	CHECK(heap.reserve <= RESERVE_PAGES && frames_used ==
	      heap.reserve + kept_pages() + heap.desc_pages);
	heap_trim();
	CHECK(frames_used == 0 && heap.top == 0);
	got[0] = kmalloc(200000);
	CHECK(got[0] != NULL);
	kfree(got[0]);
	check_heap();
	CHECK(warnings == 1);
}

/* The window itself can fill up. In a 4 MiB window, after the 1 MiB
 * reserve, there is room for two objects of 1.5 MiB, not three. */
static void window_full(void)
{
	void *a, *b, *c;

	fresh_heap(false, UINT64_MAX);
	window_drop();
	window_reserve(5 * MiB);         /* and its descriptors, 16 KiB */
	memset(mapped, 0, sizeof mapped);
	memset(&heap, 0, sizeof heap);
	heap.lock = (struct spinlock)SPINLOCK_INIT("heap");
	frames_used = 0;
	warnings = 0;
	heap_init((uintptr_t)window, 4 * MiB, false);
	a = kmalloc(3 * MiB / 2);
	b = kmalloc(3 * MiB / 2);
	c = kmalloc(3 * MiB / 2);
	CHECK(a != NULL && b != NULL && c == NULL && warnings == 1);
	kfree(a);
	kfree(b);
	heap_trim();
	CHECK(frames_used == 0 && heap.top == 0);
}

/**
 * ## A frame that cannot be had, at every step of growing
 *
 * The Nth call of heap_map_page() fails, for every N up to the number
 * of pages a growth maps: the descriptor page, the first page, any page
 * in the middle. Either the request fails with nothing left mapped, or
 * it succeeds with fewer pages in the reserve; the invariants hold
 * either way.
 */
static void map_failure_at_every_step(void)
{
	for (long k = 0; k <= RESERVE_PAGES + 2 && !check_case_failed; k++) {
		uint64_t before;
		void *p;

		fresh_heap(true, UINT64_MAX);
		heap_trim();
		before = frames_used;
		CHECK(before == 0 && heap.top == 0);
		fail_countdown = k;
		p = kmalloc(64 * 1024);         /* 17 pages, with trailer */
		if (k < 18) {
			CHECKF(p == NULL && frames_used == before &&
			       heap.top == 0, "fail at %ld: %p, %lu frames", k,
			       p, frames_used);
		} else {
			CHECKF(p != NULL && frames_used ==
			       (uint64_t)(k < 257 ? k : 257) &&
			       heap.reserve == (k < 257 ? k - 18 : 239),
			       "fail at %ld: %p, %lu frames, reserve %u", k, p,
			       frames_used, heap.reserve);
			kfree(p);
		}
		fail_countdown = -1;
		check_heap();
	}
}

/**
 * ## The reserve, and the baseline
 *
 * - After heap_init() the heap holds exactly 1 MiB of reserve and one
 *   page of descriptors; heap_trim() gives all of it back.
 * - Allocating and freeing an 8 KiB object over and over at the
 *   reserve's edge maps nothing after the first time: it is served from
 *   the reserve and returns there.
 * - Growing by 64 MiB and freeing it all, in random order, leaves at
 *   most 1 MiB mapped, and after heap_trim() nothing at all.
 */
static void reserve_and_baseline(void)
{
	static void *got[2048];
	uint64_t mapped_before;
	size_t n = 0;

	fresh_heap(true, UINT64_MAX);
	CHECK(frames_used == RESERVE_PAGES + 1 && heap.reserve ==
	      RESERVE_PAGES && heap.grows == 1);
	CHECK(heap_trim() == RESERVE_PAGES + 1 && frames_used == 0);
	for (int i = 0; i < 1000; i++)
		kfree(kmalloc(8192));
	mapped_before = heap.pages_mapped;
	for (int i = 0; i < 1000; i++)
		kfree(kmalloc(8192));
	CHECKF(heap.pages_mapped == mapped_before, "mapped %lu more pages",
	       heap.pages_mapped - mapped_before);
	while (heap.data_pages < 64 * MiB / PAGE_BYTES)
		got[n++] = kmalloc(64 * 1024);
	check_heap();
	for (size_t i = n; i > 1; i--) {          /* a random order */
		size_t j = below(i);
		void *t = got[i - 1];

		got[i - 1] = got[j];
		got[j] = t;
	}
	while (n > 0)
		kfree(got[--n]);
	check_heap();
	CHECKF(heap.reserve <= RESERVE_PAGES && frames_used ==
	       heap.reserve + kept_pages() + heap.desc_pages, "%lu frames",
	       frames_used);
	CHECKF(heap.shrinks > 100, "%lu shrinks", heap.shrinks);
	heap_trim();
	check_nothing_above_top();
	CHECK(frames_used == 0 && heap.top == 0);
}

/**
 * ## The reserve's edge does not thrash
 *
 * The worst case for a reserve: it is full, but of single pages, none
 * next to another, and the kernel allocates and frees a two-page object
 * over and over. No run of the reserve fits, so each allocation maps
 * two pages, and each free puts them in the reserve and takes it past
 * the limit. If the shrink then unmapped just what is over the limit,
 * the largest run first, it would unmap those two pages again, and
 * every pair would map and unmap two pages. reserve_shrink() unmaps
 * down to half instead, so the next growth maps 128 pages in one run,
 * and the following pairs are served from it. Without the debug checks
 * an 8 KiB object is two pages.
 */
static void reserve_edge_does_not_thrash(void)
{
	static void *got[1024];
	uint64_t mapped;
	int n = 0;

	fresh_heap(false, UINT64_MAX);
	heap_trim();
	while (n < 1024)
		got[n++] = kmalloc(4096);
	for (int i = 0; i < 2 * (int)RESERVE_PAGES; i += 2)
		kfree(got[i]);                      /* every other page */
	CHECKF(heap.reserve == RESERVE_PAGES, "reserve %u", heap.reserve);
	mapped = heap.pages_mapped;
	for (int i = 0; i < 1000; i++)
		kfree(kmalloc(8192));
	CHECKF(heap.pages_mapped - mapped <= RESERVE_PAGES,
	       "%lu pages mapped for 1000 pairs", heap.pages_mapped - mapped);
	check_heap();
	for (int i = 0; i < 1024; i++)
		if (i % 2 == 1 || i >= 2 * (int)RESERVE_PAGES)
			kfree(got[i]);
	heap_trim();
	CHECK(frames_used == 0);
}

int main(void)
{
	RUN(classes_smallest_fit);
	RUN(aligned_every_power);
	RUN(defined_results);
	RUN(realloc_cases);
	RUN(set_checks_only_when_empty);
	RUN(lock_once_per_call);
	RUN(bad_not_a_heap_address);
	RUN(bad_interior_pointers);
	RUN(bad_never_handed_out);
	RUN(bad_double_free);
	RUN(double_free_after_key_written);
	RUN(double_free_after_reuse_not_detected);
	RUN(bad_overflow);
	RUN(bad_write_after_free);
	RUN(always_on_checks_fail);
	RUN(exhaustion_and_recovery);
	RUN(window_full);
	RUN(map_failure_at_every_step);
	RUN(reserve_and_baseline);
	RUN(reserve_edge_does_not_thrash);
	random_ops(true, 1000000, 1);
	random_ops(false, 300000, 2);
	return check_done("test_heap");
}
