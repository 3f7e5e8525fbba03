/*
 * bench_heap.c: what a kmalloc + kfree pair costs with 10^2 to 10^5
 * objects alive, for our heap (kernel/heap.c), the host's glibc malloc,
 * and Redox 0.3.5's first-fit heap (firstfit.c); how much memory each
 * maps for what it holds; and why our size classes are what they are.
 * Prints Markdown tables, and last a SUMMARY line. `make bench` builds
 * it with -O2 (no sanitisers) and runs it:
 *
 *   bench_heap              the tables (about half a minute of CPU)
 *   bench_heap --quick      small tables, to show the program works
 *                           (tests/host/test_firstfit.c runs it)
 *   bench_heap --row N SIZE ours and glibc only, one row (SIZE 0:
 *                           mixed)
 *   bench_heap --count ours|glibc|firstfit N SIZE
 *                           PAIRS pairs, for valgrind to count
 *
 * Like the host tests, it includes the file it measures.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../kernel/heap.c"
#include "firstfit.h"

/**
 * ## How the benchmark works
 *
 * **The heap under test.** N objects are alive, of sizes from 16 to
 * 4095 bytes, each power of two equally likely (half of them under 256
 * bytes). To get there, each allocator is given 2N such objects and
 * then a random half of them is freed, in random order: what is left
 * is a heap with holes between the live objects, as a kernel's heap is
 * after it has run for a while. Every allocator gets the same sizes and
 * frees the same half.
 *
 * **A pair** then allocates an object of a given size and frees it
 * again. That leaves each allocator exactly as it was, so every pair
 * meets the same heap, and a row measures one state, however many
 * pairs it takes. The pair's size is fixed (16 to 4096 bytes), or drawn
 * at random from the mixed sizes for each pair.
 *
 * **A replacement** frees one of the live objects, chosen at random,
 * and allocates a new one in its place, of a size drawn afresh from the
 * mixed sizes. That changes the heap as it goes, as real work does
 * (the sizes of the live objects keep the same mix); the second table
 * measures it. For first fit it is the expensive case: every free walks
 * the holes below the freed object, and the holes do not go away,
 * because a request often does not fit the hole a free just left.
 *
 * For the first-fit heap, the random half is freed from the highest
 * address down. Its list of holes ends up the same whatever the order
 * (it is sorted by address, and neighbours always merge), but freeing
 * from the top costs one step per free instead of a walk over every
 * hole: at 10^5 objects, minutes saved.
 *
 * **Timing.** After 16 operations to warm up, each measurement runs a
 * batch of operations long enough to take at least 3 ms of CPU time
 * (found by doubling, from 16), 7 times, and reports the fastest
 * batch's time per operation: the time this thread spent on the CPU
 * (CLOCK_THREAD_CPUTIME_ID), so time when it was not running does not
 * count, and the fastest batch, the one the rest of the machine
 * disturbed least. The allocators of one row take turns, a batch each,
 * so that what disturbs one disturbs all. Random choices are drawn
 * before timing; each allocator has its own cursor into them, so every
 * one meets the same choices in the same order, and a batch goes on
 * where its own last one stopped.
 *
 * Replacements change the heap, so a batch size found by doubling
 * would let a fast allocator run 10^5 replacements while first fit ran
 * 150, and compare a worn heap with a fresh one. Instead every
 * allocator runs the same fixed number (16 to warm up, then 7 batches
 * of 16,384 to 256, fewer for larger N), and the table gives the median
 * batch with the fastest and the slowest, so the spread is there to see.
 *
 * **What runs.** Our heap is heap.c itself, with the debug checks off
 * (their cost has a table of its own) and a lock that is a plain flag:
 * the kernel's spin_lock() disables interrupts, which a program cannot.
 * Its window is one anonymous mapping, and its hooks only count the
 * pages it maps and unmaps: what the kernel pays for that (the mapper,
 * the frame allocator, INVLPG) is chapter 02's and 04's benchmarks',
 * and the `bench_heap` scenario measures all of it together. glibc is
 * malloc() and free(). Redox's heap is firstfit.c over another such
 * window, its 1 MiB steps counted the same way, with the same lock as
 * ours, and asked for 8-byte alignment, which Rust gives most kernel
 * data and which spares it the padding holes a 16-byte alignment would
 * cut in front of misaligned holes.
 *
 * **Memory.** Nothing writes into the objects. At 10^5 objects the
 * heaps hold about 150 MB each.
 */
#define BATCHES 7
#define BATCH_NS 3e6
#define PAIRS 200                  /* pairs per --count run */
#define OURS_WINDOW (4096ull << 20)
#define FF_WINDOW (4096ull << 20)

enum allocator { OURS, GLIBC, FIRSTFIT, OURS_CHECKED, ALLOCATORS };
static const char *const names[ALLOCATORS] = {
	"ours", "glibc", "first fit", "ours, checks on",
};

FILE *bench_out;   /* where the tables go; stdout unless set */

static void die(const char *what)
{
	fprintf(stderr, "bench_heap: %s\n", what);
	exit(2);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t bench_random(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}

/* ---- heap.c's environment ---- */

static uint8_t *ours_window;
static uint64_t ours_pages;       /* pages the heap has mapped */

int heap_map_page(uintptr_t va)
{
	(void)va;
	ours_pages++;
	return 0;
}

void heap_unmap_pages(uintptr_t va, uint32_t n)
{
	(void)va;
	ours_pages -= n;
}

_Noreturn void heap_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "heap_panic: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

void heap_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "heap: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

const char *heap_caller_name(uintptr_t pc, char *buf, size_t len)
{
	snprintf(buf, len, "%#lx", (unsigned long)pc);
	return buf;
}

void spin_lock(struct spinlock *l)
{
	l->locked = 1;
}

void spin_unlock(struct spinlock *l)
{
	l->locked = 0;
}

/* A new, empty heap on a 1 MiB-aligned window. */
static void ours_fresh(bool checks)
{
	size_t bytes = OURS_WINDOW + OURS_WINDOW / 256;

	if (ours_window == NULL) {
		uint8_t *w = mmap(NULL, bytes + (1 << 20), PROT_READ |
				  PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
				  MAP_NORESERVE, -1, 0);

		if (w == MAP_FAILED)
			die("mmap failed");
		ours_window = (uint8_t *)(((uintptr_t)w + (1 << 20) - 1) &
					  ~(uintptr_t)((1 << 20) - 1));
	}
	madvise(ours_window, bytes, MADV_DONTNEED);
	memset(&heap, 0, sizeof heap);
	heap.lock = (struct spinlock)SPINLOCK_INIT("heap");
	ours_pages = 0;
	if (heap_init((uintptr_t)ours_window, OURS_WINDOW, checks) != 0)
		die("heap_init failed");
}

/* ---- Redox's heap ---- */

static uint8_t *ff_window;
static struct redox_heap redox;
static uint64_t ff_mapped;        /* bytes Redox's heap has mapped */

static void ff_map(uintptr_t start, size_t length)
{
	(void)start;
	ff_mapped += length;
}

static void ff_fresh(void)
{
	if (ff_window == NULL) {
		ff_window = mmap(NULL, FF_WINDOW, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				 -1, 0);
		if (ff_window == MAP_FAILED)
			die("mmap failed");
	}
	madvise(ff_window, FF_WINDOW, MADV_DONTNEED);
	ff_mapped = 0;
	redox_init(&redox, (uintptr_t)ff_window,
		   (uintptr_t)ff_window + FF_WINDOW, ff_map);
}

/* ---- One allocator behind one interface ---- */

static enum allocator current;

static void fresh(enum allocator a)
{
	current = a;
	if (a == OURS || a == OURS_CHECKED)
		ours_fresh(a == OURS_CHECKED);
	else if (a == FIRSTFIT)
		ff_fresh();
}

static void *take(size_t size)
{
	void *p;

	switch (current) {
	case GLIBC:
		p = malloc(size);
		break;
	case FIRSTFIT:
		p = redox_alloc(&redox, size, 8);
		break;
	default:
		p = kmalloc(size);
	}
	if (p == NULL)
		die("out of memory");
	return p;
}

static void give(void *p, size_t size)
{
	switch (current) {
	case GLIBC:
		free(p);
		break;
	case FIRSTFIT:
		redox_free(&redox, p, size);
		break;
	default:
		kfree(p);
	}
}

/* ---- The timed pairs ---- */

#define IDX 65536                 /* pre-drawn random choices */
static uint32_t idx[IDX];         /* replacements: which object */
static uint32_t psize[IDX];       /* pairs: the size to allocate */
static uint64_t cursor[ALLOCATORS];  /* each one's next choice, mod IDX */

/* One allocator's live objects. */
struct live_set {
	void **p;
	uint32_t *size;
	size_t n;
};

static struct live_set sets[ALLOCATORS];
static bool replacing;            /* pairs (false) or replacements */

/* Keep the compiler from dropping an allocation nobody reads. */
static void use(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* The loops, one per allocator, with direct calls. */
__attribute__((noinline)) static void pairs_ours(struct live_set *l,
						 uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint32_t j = (uint32_t)((cursor[current] + i) % IDX);
		uint32_t k = idx[j];
		void *p;

		if (replacing) {
			kfree(l->p[k]);
			l->size[k] = psize[j];
			l->p[k] = kmalloc(l->size[k]);
		} else {
			p = kmalloc(psize[j]);
			use(p);
			kfree(p);
		}
	}
}

__attribute__((noinline)) static void pairs_glibc(struct live_set *l,
						  uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint32_t j = (uint32_t)((cursor[current] + i) % IDX);
		uint32_t k = idx[j];
		void *p;

		if (replacing) {
			free(l->p[k]);
			l->size[k] = psize[j];
			l->p[k] = malloc(l->size[k]);
		} else {
			p = malloc(psize[j]);
			use(p);
			free(p);
		}
	}
}

__attribute__((noinline)) static void pairs_firstfit(struct live_set *l,
						     uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint32_t j = (uint32_t)((cursor[current] + i) % IDX);
		uint32_t k = idx[j];
		void *p;

		if (replacing) {
			redox_free(&redox, l->p[k], l->size[k]);
			l->size[k] = psize[j];
			l->p[k] = redox_alloc(&redox, l->size[k], 8);
		} else {
			p = redox_alloc(&redox, psize[j], 8);
			use(p);
			redox_free(&redox, p, psize[j]);
		}
	}
}

/* n pairs; the next call goes on with the next choices. */
static void pairs(enum allocator a, uint64_t n)
{
	current = a;
	if (a == GLIBC)
		pairs_glibc(&sets[a], n);
	else if (a == FIRSTFIT)
		pairs_firstfit(&sets[a], n);
	else
		pairs_ours(&sets[a], n);
	cursor[a] += n;
}

/* The mixed sizes: 16 to 4095 bytes, each power of two equally likely
 * (so half of them are under 256 bytes). */
static size_t mixed_size(void)
{
	size_t low = 16u << (bench_random() % 8);

	return low + bench_random() % low;
}

struct slot {
	void *p;
	uint32_t size;
};

static int by_address(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct slot *)a)->p;
	uintptr_t y = (uintptr_t)((const struct slot *)b)->p;

	return x < y ? -1 : x > y;
}

/* In a kernel the heap is RAM; here a page that nobody has written to
 * yet costs a page fault the first time it is. So before timing, every
 * page where an allocator may write (our slab pages, all of Redox's
 * heap, and our reserve) is faulted in. glibc has written to all of its
 * pages already. */
static void prefault(enum allocator a)
{
	if (a == FIRSTFIT)
		madvise(ff_window, redox.heap.size, MADV_POPULATE_WRITE);
	if (a != OURS && a != OURS_CHECKED)
		return;
	for (uint32_t p = 0; p < heap.top; p++)
		if (heap.desc[p].kind == PAGE_SLAB ||
		    heap.desc[p].kind == PAGE_RESERVE)
			madvise((void *)page_va(p), PAGE_BYTES,
				MADV_POPULATE_WRITE);
}

/* For allocator a: 2N objects of the mixed sizes, then a random half
 * freed, leaving N live ones. Every allocator gets the same sizes and
 * frees the same half. */
static void setup(enum allocator a, size_t n)
{
	struct slot *all = malloc(2 * n * sizeof *all);
	struct live_set *l = &sets[a];

	l->p = realloc(l->p, n * sizeof *l->p);
	l->size = realloc(l->size, n * sizeof *l->size);
	if (all == NULL || l->p == NULL || l->size == NULL)
		die("out of memory");
	rng = 42 + n;
	fresh(a);
	for (size_t i = 0; i < 2 * n; i++) {
		all[i].size = (uint32_t)mixed_size();
		all[i].p = take(all[i].size);
	}
	for (size_t i = 2 * n; i > 1; i--) {        /* shuffle */
		size_t j = bench_random() % i;
		struct slot t = all[i - 1];

		all[i - 1] = all[j];
		all[j] = t;
	}
	if (a == FIRSTFIT)     /* same holes, but no walks (see above) */
		qsort(all + n, n, sizeof *all, by_address);
	for (size_t i = 2 * n; i > n; i--)
		give(all[i - 1].p, all[i - 1].size);
	for (size_t i = 0; i < n; i++) {
		l->p[i] = all[i].p;
		l->size[i] = all[i].size;
	}
	l->n = n;
	free(all);
	prefault(a);
}

/* Free everything; Redox's heap is simply dropped (freeing 10^5
 * objects in random order would walk its list 10^5 times). */
static void teardown(enum allocator a)
{
	struct live_set *l = &sets[a];

	current = a;
	for (size_t i = 0; i < l->n && a != FIRSTFIT; i++)
		give(l->p[i], l->size[i]);
	l->n = 0;
	if (a == GLIBC)
		malloc_trim(0);
}

/* The random choices for N live objects and pair size `size` (0:
 * mixed), the same for every allocator. */
static void choose(size_t n, size_t size)
{
	rng = 7 * n + size;
	for (size_t i = 0; i < IDX; i++) {
		idx[i] = (uint32_t)(bench_random() % n);
		psize[i] = (uint32_t)(size ? size : mixed_size());
	}
	memset(cursor, 0, sizeof cursor);
}

/* CPU time of this thread: on a busy machine, the time it was not
 * running does not count. */
static double cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ns per pair for allocators first..last, measured in turns (one batch
 * of each, then again), so that whatever else the machine does falls
 * on all of them alike. The fastest batch of each. */
static void measure(int first, int last, int batches, double batch_ns,
		    double *out)
{
	double t[ALLOCATORS][BATCHES];
	uint64_t n[ALLOCATORS];

	for (int a = first; a <= last; a++)
		pairs(a, 16);                       /* warm up: not timed */
	for (int a = first; a <= last; a++)
		for (n[a] = 16;; n[a] *= 2) {
			double t0 = cpu_ns();

			pairs(a, n[a]);
			if (cpu_ns() - t0 >= batch_ns)
				break;
		}
	for (int b = 0; b < batches; b++)
		for (int a = first; a <= last; a++) {
			double t0 = cpu_ns();

			pairs(a, n[a]);
			t[a][b] = (cpu_ns() - t0) / (double)n[a];
		}
	for (int a = first; a <= last; a++) {
		qsort(t[a], batches, sizeof t[a][0], by_double);
		out[a] = t[a][0];
	}
}

/* The spread of a measurement: median, fastest and slowest batch. */
struct spread {
	double median, low, high;
};

/* ns per replacement for allocators first..last: each runs the same
 * 16 + batches * ops replacements from the same choices, in turns,
 * one batch each; the median batch, with the fastest and slowest. */
static void measure_ops(int first, int last, int batches, uint64_t ops,
			struct spread *out)
{
	double t[ALLOCATORS][BATCHES];

	for (int a = first; a <= last; a++)
		pairs(a, 16);                       /* warm up: not timed */
	for (int b = 0; b < batches; b++)
		for (int a = first; a <= last; a++) {
			double t0 = cpu_ns();

			pairs(a, ops);
			t[a][b] = (cpu_ns() - t0) / (double)ops;
		}
	for (int a = first; a <= last; a++) {
		qsort(t[a], batches, sizeof t[a][0], by_double);
		out[a] = (struct spread){ t[a][batches / 2], t[a][0],
					  t[a][batches - 1] };
	}
}

/* One row: N live objects, pairs of `size` (0: mixed), or replacements,
 * for allocators first..last. */
static void time_row_of(int first, int last, size_t n, size_t size,
			bool replace, int batches, double batch_ns,
			double *out)
{
	for (int a = first; a <= last; a++)
		setup(a, n);
	choose(n, size);
	replacing = replace;
	measure(first, last, batches, batch_ns, out);
	for (int a = first; a <= last; a++)
		teardown(a);
}

/* ---- The time tables ---- */

static const size_t counts[] = { 100, 1000, 10000, 100000 };
static const size_t sizes[] = { 16, 32, 64, 128, 256, 1024, 4096, 0 };
#define NCOUNTS ((int)(sizeof counts / sizeof counts[0]))
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))  /* 0: mixed */
#define SMALL_SIZES 5              /* sizes[0..4]: up to 256 bytes */
#define MIXED (NSIZES - 1)

static double ns[ALLOCATORS][NCOUNTS][NSIZES];  /* pairs */
static double rep[ALLOCATORS][NCOUNTS];         /* replacements */
static struct spread rep_spread[ALLOCATORS][NCOUNTS];

/* Replacements per batch at each N, the same for every allocator, so
 * that all of them go through the same stretch of changes from the
 * same start (first fit's costs keep growing as its holes pile up). */
static const uint64_t rep_ops[] = { 16384, 8192, 1024, 256 };

static void print_row(size_t n, size_t size, const double *t)
{
	if (size)
		fprintf(bench_out, "| %zu | %zu |", n, size);
	else
		fprintf(bench_out, "| %zu | 16-4095 |", n);
	fprintf(bench_out, " %.1f | %.1f | %.1f | %.2f | %.1f |\n",
		t[OURS], t[GLIBC], t[FIRSTFIT], t[OURS] / t[GLIBC],
		t[FIRSTFIT] / t[OURS]);
	fflush(bench_out);
}

/* "14.4 (14.1-15.9)": the median, and the fastest and slowest batch. */
static void print_spread(const struct spread *s)
{
	fprintf(bench_out, " %.1f (%.1f-%.1f) |", s->median, s->low,
		s->high);
}

static void print_replacements(int ncounts, int batches, uint64_t div)
{
	fprintf(bench_out, "\nA replacement: free a random live object, "
		"allocate a new one of 16-4095 bytes;\n%d batches of a fixed "
		"number, the same for each heap; ns per replacement,\nthe "
		"median batch (the fastest-the slowest).\n\n| live objects | "
		"replacements | ours | glibc | first fit | ours / glibc | "
		"first fit / ours |\n|---:|---:|---:|---:|---:|---:|---:|\n",
		batches);
	for (int c = 0; c < ncounts; c++) {
		fprintf(bench_out, "| %zu | %llu x %d |", counts[c],
			(unsigned long long)(rep_ops[c] / div), batches);
		for (int a = OURS; a <= FIRSTFIT; a++)
			print_spread(&rep_spread[a][c]);
		fprintf(bench_out, " %.2f | %.0f |\n",
			rep[OURS][c] / rep[GLIBC][c],
			rep[FIRSTFIT][c] / rep[OURS][c]);
	}
	fflush(bench_out);
}

/* For each N, one heap per allocator: the pairs of every size (which
 * leave it as it was), then the replacements (which change it). */
static void time_tables(int ncounts, int nsizes, int batches,
			double batch_ns, uint64_t ops_div)
{
	static const char head[] = "| live objects | bytes | ours | glibc |"
		" first fit | ours / glibc | first fit / ours |\n"
		"|---:|---:|---:|---:|---:|---:|---:|\n";
	double t[ALLOCATORS];
	struct spread sp[ALLOCATORS];

	fprintf(bench_out, "N live objects of 16-4095 bytes, a random half "
		"of 2N freed; ns per operation,\nfastest of %d batches of "
		">= %.0f ms of CPU time.\n\nA pair: allocate an object of "
		"the size, free it.\n\n%s", batches, batch_ns / 1e6, head);
	for (int c = 0; c < ncounts; c++) {
		for (int a = OURS; a <= FIRSTFIT; a++)
			setup(a, counts[c]);
		for (int s = 0; s < nsizes; s++) {
			int k = s == nsizes - 1 ? MIXED : s;

			choose(counts[c], sizes[k]);
			replacing = false;
			measure(OURS, FIRSTFIT, batches, batch_ns, t);
			for (int a = OURS; a <= FIRSTFIT; a++)
				ns[a][c][k] = t[a];
			print_row(counts[c], sizes[k], t);
		}
		choose(counts[c], 0);
		replacing = true;
		measure_ops(OURS, FIRSTFIT, batches, rep_ops[c] / ops_div, sp);
		for (int a = OURS; a <= FIRSTFIT; a++) {
			rep_spread[a][c] = sp[a];
			rep[a][c] = sp[a].median;
			teardown(a);
		}
	}
	print_replacements(ncounts, batches, ops_div);
}

/* Ours at the most live objects against the fewest, worst size. */
static void flatness(int ncounts)
{
	double worst = 0, worst_rep;
	int at = 0;

	for (int s = 0; s < NSIZES; s++) {
		double r = ns[OURS][ncounts - 1][s] / ns[OURS][0][s];

		if (ns[OURS][0][s] > 0 && r > worst) {
			worst = r;
			at = s;
		}
	}
	fprintf(bench_out, "\nours, a pair at %zu live objects against %zu: "
		"at most %.2fx (", counts[ncounts - 1], counts[0], worst);
	if (sizes[at])
		fprintf(bench_out, "%zu bytes", sizes[at]);
	else
		fprintf(bench_out, "mixed sizes");
	worst_rep = rep[OURS][ncounts - 1] / rep[OURS][0];
	fprintf(bench_out, "; target: within 2x)\nours, a replacement: "
		"%.2fx, glibc %.2fx: %zu objects no longer fit in the CPU's "
		"caches\n", worst_rep, rep[GLIBC][ncounts - 1] /
		rep[GLIBC][0], counts[ncounts - 1]);
}

/* ---- Instructions, counted ---- */

/**
 * ## Instructions, counted
 *
 * Time depends on the machine, on what else it is doing, and on where
 * the objects are in the CPU's caches. The number of instructions an
 * operation executes depends on none of that, and shows whether the
 * *work* grows with the number of live objects. When valgrind is
 * installed, the program runs itself under valgrind's callgrind tool
 * (`--count`), counting only inside the loop of PAIRS operations, and
 * divides.
 */
static double instructions(const char *self, const char *which,
			   size_t n, long size)
{
	char cmd[512], line[256];
	double count = -1;
	FILE *p;

	snprintf(cmd, sizeof cmd, "valgrind --tool=callgrind "
		 "--callgrind-out-file=/dev/null '--toggle-collect=pairs_%s*' "
		 "'%s' --count %s %zu %ld 2>&1", which, self, which, n, size);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	while (fgets(line, sizeof line, p) != NULL)
		sscanf(line, "==%*d== Collected : %lf", &count);
	if (pclose(p) != 0)
		return -1;
	return count / PAIRS;
}

static void count_table(const char *self)
{
	static const long csizes[] = { 64, 4096, 0, -1 };  /* -1: replace */
	double worst = 1, in[4][NCOUNTS];

	if (system("valgrind --version >/dev/null 2>&1") != 0) {
		fprintf(bench_out, "\n(valgrind is not installed: no "
			"instruction counts.)\n");
		return;
	}
	fprintf(bench_out, "\nOurs, instructions per operation (valgrind "
		"--tool=callgrind):\n\n| live objects | pair, 64 bytes | "
		"pair, 4096 bytes | pair, 16-4095 | replacement |\n"
		"|---:|---:|---:|---:|---:|\n");
	for (int c = 0; c < NCOUNTS; c++) {
		for (int i = 0; i < 4; i++) {
			in[i][c] = instructions(self, "ours", counts[c],
						csizes[i]);
			if (in[i][c] <= 0)
				die("valgrind did not count the pairs");
			if (in[i][c] / in[i][0] > worst)
				worst = in[i][c] / in[i][0];
		}
		fprintf(bench_out, "| %zu | %.0f | %.0f | %.0f | %.0f |\n",
			counts[c], in[0][c], in[1][c], in[2][c], in[3][c]);
		fflush(bench_out);
	}
	fprintf(bench_out, "\nours, instructions at %zu live objects against "
		"%zu: at most %.2fx (target: within 2x)\n",
		counts[NCOUNTS - 1], counts[0], worst);
}

/* ---- Fragmentation: a mixed workload ---- */

/**
 * ## Fragmentation
 *
 * A mixed workload: sizes from 16 to 4095 bytes, each power of two
 * equally likely (so half the objects are under 256 bytes), 10^4 of
 * them alive, replaced at random 10^5 times. *Mapped / live* is the
 * memory the allocator holds (our heap: its mapped pages, page
 * descriptors and reserve included; first fit: the heap it has grown
 * to, which it never gives back; glibc: what it took from the system,
 * mallinfo2()) divided by the bytes the live objects asked for. Then
 * 90% of the objects are freed at random and it is measured again.
 */
#define MIX_LIVE 10000
#define MIX_OPS 100000

static uint64_t held_bytes(void)
{
	if (current == FIRSTFIT)
		return ff_mapped;
	if (current == GLIBC) {
		struct mallinfo2 m = mallinfo2();

		return m.arena + m.hblkhd;
	}
	return (heap.data_pages + heap.desc_pages) * PAGE_BYTES;
}

struct frag {
	double steady, after_free;   /* mapped / live */
	uint64_t live_bytes;
	double small_slot;           /* ours: slab bytes / asked, <= 2048 */
};

static void *mix_p[MIX_LIVE];
static size_t mix_size[MIX_LIVE];

static struct frag fragmentation(enum allocator a, size_t ops)
{
	uint64_t live_bytes = 0, base = 0, small_asked = 0;
	struct frag f = { 0 };
	size_t n = MIX_LIVE;

	rng = 12345;
	if (a == GLIBC) {
		malloc_trim(0);
		current = GLIBC;
		base = held_bytes();
	}
	fresh(a);
	for (size_t i = 0; i < n; i++) {
		mix_size[i] = mixed_size();
		mix_p[i] = take(mix_size[i]);
		live_bytes += mix_size[i];
	}
	for (size_t op = 0; op < ops; op++) {
		size_t k = bench_random() % n;

		give(mix_p[k], mix_size[k]);
		live_bytes -= mix_size[k];
		mix_size[k] = mixed_size();
		mix_p[k] = take(mix_size[k]);
		live_bytes += mix_size[k];
	}
	f.steady = (double)(held_bytes() - base) / (double)live_bytes;
	f.live_bytes = live_bytes;
	for (size_t i = 0; i < n; i++)
		if (mix_size[i] <= MAX_SMALL)
			small_asked += mix_size[i];
	if (a == OURS)
		f.small_slot = (double)(heap.slab_pages * PAGE_BYTES) /
			       (double)small_asked;
	while (n > MIX_LIVE / 10) {
		size_t k = bench_random() % n;

		give(mix_p[k], mix_size[k]);
		live_bytes -= mix_size[k];
		mix_p[k] = mix_p[--n];
		mix_size[k] = mix_size[n];
	}
	f.after_free = (double)(held_bytes() - base) / (double)live_bytes;
	while (n > 0) {
		n--;
		give(mix_p[n], mix_size[n]);
	}
	if (a == GLIBC)
		malloc_trim(0);
	return f;
}

static double frag_table(size_t ops)
{
	struct frag f[FIRSTFIT + 1];

	for (int a = OURS; a <= FIRSTFIT; a++)
		f[a] = fragmentation(a, ops);
	fprintf(bench_out, "Mixed workload: %d live objects of 16-4095 "
		"bytes (%.1f MB asked for), %zu random replacements; memory "
		"held / bytes live:\n\n", MIX_LIVE,
		f[OURS].live_bytes / 1e6, ops);
	fprintf(bench_out, "| allocator | mapped / live | after freeing 90%% "
		"|\n|---|---:|---:|\n");
	for (int a = OURS; a <= FIRSTFIT; a++)
		fprintf(bench_out, "| %s | %.2f | %.2f |\n", names[a],
			f[a].steady, f[a].after_free);
	return f[OURS].steady;
}

/* ---- Choosing the classes ---- */

/**
 * ## Choosing the classes
 *
 * For the small objects (up to 2048 bytes) of the mixed workload, what
 * three sets of classes would cost, per byte asked for: the slot
 * (rounding up to the class), and the slot's share of a page (a page
 * holds 4096 / size slots; the rest of it is lost). Ours are the
 * classes of heap.c; "powers of two" are 16, 32 ... 2048, what many
 * small kernels use; "every 16 bytes" is 128 classes. The last row is
 * our heap's own measure: bytes of slab pages over bytes asked, which
 * also counts the free slots of partly used pages.
 */
static double class_cost(const uint16_t *set, int nset, bool page_share)
{
	double asked = 0, cost = 0;

	rng = 777;
	for (int i = 0; i < 200000; i++) {
		size_t size = mixed_size(), slot = 0;

		if (size > MAX_SMALL)
			continue;
		for (int c = 0; c < nset && !slot; c++)
			if (set[c] >= size)
				slot = set[c];
		asked += size;
		cost += page_share ? (double)PAGE_BYTES / (PAGE_BYTES / slot)
				   : (double)slot;
	}
	return cost / asked;
}

static void class_table(double measured)
{
	uint16_t pow2[8], step16[128];

	for (int i = 0; i < 8; i++)
		pow2[i] = (uint16_t)(16 << i);
	for (int i = 0; i < 128; i++)
		step16[i] = (uint16_t)(16 * (i + 1));
	fprintf(bench_out, "Small objects of the mixed workload: bytes "
		"held per byte asked for:\n\n| classes | how many | slot | "
		"slot's share of its page |\n|---|---:|---:|---:|\n");
	fprintf(bench_out, "| ours | %d | %.3f | %.3f |\n", HEAP_CLASSES,
		class_cost(class_sizes, HEAP_CLASSES, false),
		class_cost(class_sizes, HEAP_CLASSES, true));
	fprintf(bench_out, "| powers of two | 8 | %.3f | %.3f |\n",
		class_cost(pow2, 8, false), class_cost(pow2, 8, true));
	fprintf(bench_out, "| every 16 bytes | 128 | %.3f | %.3f |\n",
		class_cost(step16, 128, false), class_cost(step16, 128, true));
	fprintf(bench_out, "| ours, measured: slab pages / asked | %d | | "
		"%.3f |\n", HEAP_CLASSES, measured);
}

/* ---- What the debug checks cost ---- */

static void checks_table(int batches, double batch_ns)
{
	static const size_t csizes[] = { 16, 64, 256, 1024, 4096 };
	double t[2][5], out[ALLOCATORS];

	for (int on = 0; on < 2; on++) {    /* one heap at a time */
		enum allocator a = on ? OURS_CHECKED : OURS;

		setup(a, 10000);
		for (int i = 0; i < 5; i++) {
			choose(10000, csizes[i]);
			replacing = false;
			measure(a, a, batches, batch_ns, out);
			t[on][i] = out[a];
		}
		teardown(a);
	}
	fprintf(bench_out, "\nThe debug checks (canaries, trailer, poison), "
		"10000 live objects, ns per pair:\n\n| bytes | checks off | "
		"checks on | ratio |\n|---:|---:|---:|---:|\n");
	for (int i = 0; i < 5; i++)
		fprintf(bench_out, "| %zu | %.1f | %.1f | %.1f |\n", csizes[i],
			t[0][i], t[1][i], t[1][i] / t[0][i]);
}

/* ---- The summary ---- */

static void summary(void)
{
	double r1 = 0, r2;

	for (int s = 0; s < SMALL_SIZES; s++) {
		double r = ns[OURS][2][s] / ns[GLIBC][2][s];

		r1 = r > r1 ? r : r1;
	}
	r2 = rep[FIRSTFIT][3] / rep[OURS][3];
	fprintf(bench_out, "\nours / glibc, a pair, worst size up to 256 "
		"bytes, 10^4 live: %.2f (target: <= 1.50)\nfirst fit / ours, "
		"a replacement, 10^5 live: %.0f (target: >= 100)\n", r1, r2);
	fprintf(bench_out, "SUMMARY ours-over-glibc-small=%.2f "
		"firstfit-over-ours-at-1e5=%.2f\n", r1, r2);
}

/* ---- The modes ---- */

/* PAIRS operations, for valgrind --toggle-collect=pairs_* to count:
 * pairs of SIZE bytes (0: mixed), or replacements (SIZE -1). */
static int count_mode(const char *which, size_t n, long size)
{
	enum allocator a = strcmp(which, "ours") == 0 ? OURS
			   : strcmp(which, "glibc") == 0 ? GLIBC
			   : strcmp(which, "firstfit") == 0 ? FIRSTFIT
							    : ALLOCATORS;

	if (a == ALLOCATORS || n == 0)
		die("--count ours|glibc|firstfit N SIZE");
	setup(a, n);
	choose(n, size > 0 ? (size_t)size : 0);
	replacing = size < 0;
	pairs(a, PAIRS);
	teardown(a);
	return 0;
}

int main(int argc, char **argv)
{
	double ours_frag, out[ALLOCATORS];

	if (bench_out == NULL)
		bench_out = stdout;
	if (argc == 5 && strcmp(argv[1], "--count") == 0)
		return count_mode(argv[2], strtoull(argv[3], NULL, 10),
				  strtol(argv[4], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "--row") == 0) {
		time_row_of(OURS, GLIBC, strtoull(argv[2], NULL, 10),
			    strtoull(argv[3], NULL, 10), false, BATCHES,
			    BATCH_NS, out);
		fprintf(bench_out, "ours %.1f glibc %.1f ratio %.2f\n",
			out[OURS], out[GLIBC], out[OURS] / out[GLIBC]);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--quick") == 0) {
		time_tables(2, 2, 3, 1e5, 64);
		frag_table(2000);
		return 0;
	}
	if (argc != 1)
		die("usage: bench_heap [--quick | --row N SIZE | --count "
		    "ours|glibc|firstfit N SIZE]");
	ours_frag = frag_table(MIX_OPS);      /* first: glibc is fresh */
	fprintf(bench_out, "(target for ours: <= 1.5; here %.2f)\n\n",
		ours_frag);
	class_table(fragmentation(OURS, MIX_OPS).small_slot);
	fprintf(bench_out, "\n");
	time_tables(NCOUNTS, NSIZES, BATCHES, BATCH_NS, 1);
	flatness(NCOUNTS);
	count_table(argv[0]);
	checks_table(BATCHES, BATCH_NS);
	summary();
	return 0;
}
