/*
 * bench_frame.c: what one frame_alloc(1) + frame_free(1) pair costs
 * when N runs of free memory are scattered through RAM, for the buddy
 * allocator (kernel/frame.c) and for Redox 0.3.5's recycle allocator
 * (recycle.c), N = 10^2 .. 10^5. Prints Markdown tables. `make bench`
 * builds it with -O2 (no sanitisers) and runs it:
 *
 *   bench                    the time table, then, if valgrind is
 *                            installed, the instruction-count table
 *   bench --quick            a small time table (N = 10^2, 10^3), to
 *                            show the program works (tests/host/
 *                            test_bench.c runs it)
 *   bench --count buddy|recycle N
 *                            PAIRS pairs in pairs_buddy() or
 *                            pairs_recycle(): what valgrind counts
 *
 * Like the host tests, it includes the file it measures.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../kernel/frame.c"
#include "../tests/host/spinlock_host.h"
#include "recycle.h"

/**
 * ## How the benchmark works
 *
 * For each N, both allocators are brought into the same state: 2N
 * frames handed out one at a time, then every other one (by address)
 * freed. That leaves N free runs of one frame, none touching another.
 * For the recycle allocator the array then holds N runs. For the buddy
 * allocator, N blocks of order 0 whose buddies are all in use.
 *
 * A timed *pair* allocates one frame and frees that same frame again,
 * which puts each allocator back in the state it started from. The
 * recycle allocator picks the last of its equally small runs and
 * deletes it, then its free scans all remaining runs for a neighbour,
 * finds none and appends the run again: two full passes over N runs.
 * The buddy allocator pops a block from the order-0 list, and its
 * free finds the buddy in use and pushes the block back.
 *
 * Each measurement runs a batch of pairs long enough to take at least
 * 10 ms (the number is found by doubling), 21 times, and reports the
 * median time per pair, read with clock_gettime(CLOCK_MONOTONIC).
 *
 * Time depends on the machine and on what else it is doing, so a
 * second table counts *instructions* instead, which depend on neither.
 * The program runs itself under valgrind's callgrind tool once per
 * allocator and N (`--count`), with counting switched on only inside
 * the function that runs PAIRS pairs, and divides. valgrind is not
 * needed for anything else, and tools/setup does not install it: without
 * it, only the time table is printed.
 *
 * Simulated RAM is an anonymous mapping with MAP_NORESERVE, and only
 * the pages written use real memory. Neither allocator writes into the
 * frames it manages, so that is the buddy allocator's table: 2.6 MB at
 * N = 10^5 (the whole benchmark peaks at about 40 MB).
 */

#define META_PHYS (1ull << 20)   /* the buddy's table: at 1 MiB */
#define DATA_PHYS (64ull << 20)  /* the 2N frames: from 64 MiB up */
#define BATCHES 21               /* batches per measurement */
#define BATCH_NS 10e6            /* at least 10 ms per batch */
#define PAIRS 200                /* pairs per --count run */

static unsigned char *ram;
static uint64_t ram_bytes;

void *pt_phys_to_virt(uint64_t phys)
{
	return ram + phys;
}

_Noreturn void frame_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "frame_panic: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

static void die(const char *what)
{
	fprintf(stderr, "bench_frame: %s\n", what);
	exit(2);
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- Setting up the fragmented state ---- */

static void ram_map(uint64_t n)
{
	ram_bytes = DATA_PHYS + 2 * n * FRAME_SIZE;
	ram = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap failed");
}

static void ram_unmap(void)
{
	munmap(ram, ram_bytes);
}

/* Buddy: 2N frames allocated, every other one by address freed. */
static void buddy_setup(uint64_t n)
{
	uint64_t *got = malloc(2 * n * sizeof *got);
	struct frame_stats s;

	if (got == NULL)
		die("out of memory");
	if (META_PHYS + frame_meta_bytes(ram_bytes) > DATA_PHYS)
		die("table too large");
	frame_init(ram_bytes, META_PHYS);
	frame_init_range(DATA_PHYS, ram_bytes);
	for (uint64_t i = 0; i < 2 * n; i++)
		if (frame_alloc(1, &got[i]) != 0)
			die("buddy: set-up allocation failed");
	qsort(got, 2 * n, sizeof *got, by_value);
	for (uint64_t i = 0; i < 2 * n; i += 2)
		frame_free(got[i], 1);
	free(got);
	frame_get_stats(&s);
	if (s.free != n || s.blocks[0] != n)
		die("buddy: set-up did not leave N single free frames");
}

/* Recycle: the same. Freeing every other frame the real way scans the
 * growing array each time, N^2/2 steps (minutes at N = 10^5), so the
 * array is built directly: N runs of one frame in the order the frees
 * would append them. For N <= 10^4 it is also built the real way, and
 * the two must agree. */
static void recycle_setup(struct recycle *r, uint64_t n, bool verify)
{
	uint64_t p;

	recycle_init(r, DATA_PHYS, ram_bytes);
	for (uint64_t i = 0; i < 2 * n; i++)
		if (recycle_alloc(r, 1, &p) != 0 ||
		    p != DATA_PHYS + i * FRAME_SIZE)
			die("recycle: set-up allocation failed");
	recycle_set_noncore(r, true);
	for (uint64_t i = 0; i < 2 * n; i += 2)
		recycle_push_run(r, DATA_PHYS + i * FRAME_SIZE, 1);

	if (verify && n <= 10000) {
		struct recycle real;

		recycle_init(&real, DATA_PHYS, ram_bytes);
		for (uint64_t i = 0; i < 2 * n; i++)
			recycle_alloc(&real, 1, &p);
		recycle_set_noncore(&real, true);
		for (uint64_t i = 0; i < 2 * n; i += 2)
			recycle_free(&real, DATA_PHYS + i * FRAME_SIZE, 1);
		if (real.len != r->len ||
		    memcmp(real.runs, r->runs, r->len * sizeof *r->runs))
			die("recycle: direct set-up differs from real frees");
		recycle_destroy(&real);
	}
	if (r->len != n || recycle_free_count(r) != n)
		die("recycle: set-up did not leave N single free frames");
}

/* ---- The timed loops ---- */

__attribute__((noinline)) static uint64_t pairs_buddy(uint64_t pairs)
{
	uint64_t p, sum = 0;

	for (uint64_t i = 0; i < pairs; i++) {
		if (frame_alloc(1, &p) != 0)
			die("buddy: allocation failed");
		frame_free(p, 1);
		sum += p;
	}
	return sum;
}

__attribute__((noinline)) static uint64_t
pairs_recycle(struct recycle *r, uint64_t pairs)
{
	uint64_t p, sum = 0;

	for (uint64_t i = 0; i < pairs; i++) {
		if (recycle_alloc(r, 1, &p) != 0)
			die("recycle: allocation failed");
		recycle_free(r, p, 1);
		sum += p;
	}
	return sum;
}

static volatile uint64_t sink;  /* keeps the results alive */

/* ns per pair of one batch of the given size. */
static double batch(struct recycle *r, uint64_t pairs)
{
	double t0 = now_ns();

	sink += r ? pairs_recycle(r, pairs) : pairs_buddy(pairs);
	return (now_ns() - t0) / (double)pairs;
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median ns per pair; r == NULL measures the buddy allocator.
 * Precondition: 0 < batches <= BATCHES. */
static double measure(struct recycle *r, int batches, double batch_ns)
{
	double t[BATCHES];
	uint64_t pairs = 1;

	while (batch(r, pairs) * (double)pairs < batch_ns)
		pairs *= 2;
	for (int i = 0; i < batches; i++)
		t[i] = batch(r, pairs);
	qsort(t, batches, sizeof t[0], by_double);
	return t[batches / 2];
}

/* ---- The tables ---- */

static const uint64_t sizes[] = { 100, 1000, 10000, 100000 };
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))

FILE *bench_out;  /* where the tables go; stdout unless set */

/* The time table for the first n sizes. */
static void time_table(int n, int batches, double batch_ns)
{
	double buddy[NSIZES], recycle[NSIZES];

	fprintf(bench_out, "One op = frame_alloc(1) + frame_free(1) of "
		"that frame; median of %d batches of >= %.0f ms.\n\n",
		batches, batch_ns / 1e6);
	fprintf(bench_out, "| free runs | buddy ns/op | recycle ns/op "
		"| ratio |\n|---:|---:|---:|---:|\n");
	for (int i = 0; i < n; i++) {
		struct recycle r;

		ram_map(sizes[i]);
		buddy_setup(sizes[i]);
		buddy[i] = measure(NULL, batches, batch_ns);
		recycle_setup(&r, sizes[i], true);
		recycle[i] = measure(&r, batches, batch_ns);
		recycle_destroy(&r);
		ram_unmap();
		fprintf(bench_out, "| %lu | %.1f | %.1f | %.0f |\n", sizes[i],
			buddy[i], recycle[i], recycle[i] / buddy[i]);
		fflush(bench_out);
	}
	if (n < NSIZES)
		return;
	fprintf(bench_out, "\nbuddy, 10^5 runs vs 10^2: %.2fx (target: "
		"within 2x)\n", buddy[3] / buddy[0]);
	fprintf(bench_out, "recycle / buddy at 10^5 runs: %.0fx (target: "
		">= 100x)\n", recycle[3] / buddy[3]);
}

/* Instructions callgrind counted in PAIRS pairs of one allocator at
 * N = n, run as `self --count which n`; -1 if valgrind failed. */
static double instructions(const char *self, const char *which,
			   uint64_t n)
{
	char cmd[512], line[256];
	double count = -1;
	FILE *p;

	snprintf(cmd, sizeof cmd, "valgrind --tool=callgrind "
		 "--callgrind-out-file=/dev/null --toggle-collect=pairs_%s "
		 "'%s' --count %s %lu 2>&1", which, self, which, n);
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
	if (system("valgrind --version >/dev/null 2>&1") != 0) {
		fprintf(bench_out, "\n(valgrind is not installed: no "
			"instruction counts.)\n");
		return;
	}
	fprintf(bench_out, "\nThe same pairs, instructions counted by "
		"valgrind --tool=callgrind:\n\n");
	fprintf(bench_out, "| free runs | buddy instructions/op | "
		"recycle instructions/op | ratio |\n|---:|---:|---:|---:|\n");
	for (int i = 0; i < NSIZES; i++) {
		double b = instructions(self, "buddy", sizes[i]);
		double r = instructions(self, "recycle", sizes[i]);

		if (b <= 0 || r <= 0)
			die("valgrind did not count the pairs");
		fprintf(bench_out, "| %lu | %.0f | %.0f | %.0f |\n", sizes[i],
			b, r, r / b);
		fflush(bench_out);
	}
}

/* ---- The modes ---- */

static int count_mode(const char *which, uint64_t n)
{
	struct recycle r;

	ram_map(n);
	if (strcmp(which, "buddy") == 0) {
		buddy_setup(n);
		sink += pairs_buddy(PAIRS);
	} else if (strcmp(which, "recycle") == 0) {
		recycle_setup(&r, n, false);
		sink += pairs_recycle(&r, PAIRS);
		recycle_destroy(&r);
	} else {
		die("--count buddy|recycle N");
	}
	ram_unmap();
	return 0;
}

int main(int argc, char **argv)
{
	if (bench_out == NULL)
		bench_out = stdout;
	if (argc == 4 && strcmp(argv[1], "--count") == 0)
		return count_mode(argv[2], strtoull(argv[3], NULL, 10));
	if (argc == 2 && strcmp(argv[1], "--quick") == 0) {
		time_table(2, 3, 1e6);
		return 0;
	}
	if (argc != 1)
		die("usage: bench [--quick | --count buddy|recycle N]");
	time_table(NSIZES, BATCHES, BATCH_NS);
	count_table(argv[0]);
	return 0;
}
