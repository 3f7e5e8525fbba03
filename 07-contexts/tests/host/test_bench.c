/*
 * test_bench.c: host tests for the benchmark's side of chapter 04:
 * bench/recycle.c, the re-creation of Redox 0.3.5's recycle allocator
 * that bench/bench_frame.c measures our allocator against, and a quick
 * run of the benchmark itself.
 *
 * Unity build: the benchmark (which includes kernel/frame.c) and
 * recycle.c are included whole, the benchmark's main() renamed.
 *
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Wall -Wextra -Werror -DHOST_TEST \
 *       -I kernel -o build/host/test_bench tests/host/test_bench.c
 *   build/host/test_bench
 *
 * No timing is checked, ever: under the sanitisers the figures mean
 * nothing, and on a busy machine they would not mean much either.
 */
#define main bench_main
#include "../../bench/bench_frame.c"
#undef main
#include "../../bench/recycle.c"

#include "check.h"

/**
 * ## Is the re-creation faithful?
 *
 * The comparison in frame.c is only fair if recycle.c does what Redox
 * does, so its behaviours are pinned down here, including the ones the
 * chapter criticises: frees before `noncore` are lost, and a double
 * free goes unnoticed and hands one frame out twice.
 */
#define F RECYCLE_FRAME
#define AREA 0x100000ull      /* the bump allocator's area ... */
#define AREA_END 0x200000ull  /* ... 256 frames */
#define RUNS 0x800000ull      /* runs pushed by hand: far from it */

static struct recycle fresh(void)
{
	struct recycle r;

	recycle_init(&r, AREA, AREA_END);
	recycle_set_noncore(&r, true);
	return r;
}

/* Smallest fit; on a tie the later run; frames cut from the top. */
static void smallest_fit_later_wins(void)
{
	struct recycle r = fresh();
	uint64_t p;

	recycle_push_run(&r, RUNS, 5);
	recycle_push_run(&r, RUNS + 10 * F, 3);
	recycle_push_run(&r, RUNS + 20 * F, 3);
	recycle_push_run(&r, RUNS + 30 * F, 8);
	CHECK(recycle_alloc(&r, 2, &p) == 0 && p == RUNS + 21 * F);
	CHECK(r.len == 4 && r.runs[2].count == 1);
	CHECK(recycle_alloc(&r, 1, &p) == 0 && p == RUNS + 20 * F);
	CHECK(r.len == 3);                 /* the empty run is deleted */
	CHECK(recycle_alloc(&r, 6, &p) == 0 && p == RUNS + 32 * F);
	recycle_destroy(&r);
}

/* No run fits: the bump allocator serves, upward, until it is empty. */
static void bump_when_nothing_fits(void)
{
	struct recycle r = fresh();
	uint64_t p;

	recycle_push_run(&r, RUNS, 2);
	CHECK(recycle_alloc(&r, 3, &p) == 0 && p == AREA);
	CHECK(recycle_alloc(&r, 3, &p) == 0 && p == AREA + 3 * F);
	CHECK(recycle_alloc(&r, 251, &p) == -1);
	CHECK(recycle_free_count(&r) == 2 + 250);
	recycle_destroy(&r);
}

/* A freed block joins the run below, and then the run above. */
static void free_merges_both_sides(void)
{
	struct recycle r = fresh();

	recycle_push_run(&r, RUNS, 2);
	recycle_push_run(&r, RUNS + 10 * F, 1);
	recycle_push_run(&r, RUNS + 3 * F, 2);
	recycle_free(&r, RUNS + 2 * F, 1);
	CHECK(r.len == 2);
	CHECK(r.runs[0].base == RUNS + 10 * F && r.runs[1].base == RUNS &&
	      r.runs[1].count == 5);
	recycle_free(&r, RUNS + 20 * F, 1);        /* no neighbour */
	CHECK(r.len == 3 && r.runs[2].base == RUNS + 20 * F);
	recycle_destroy(&r);
}

/* Before init_noncore(), a free does nothing: the frames are lost. */
static void frees_before_noncore_are_lost(void)
{
	struct recycle r;
	uint64_t p, before;

	recycle_init(&r, AREA, AREA_END);
	CHECK(recycle_alloc(&r, 4, &p) == 0);
	before = recycle_free_count(&r);
	recycle_free(&r, p, 4);
	CHECK(recycle_free_count(&r) == before && r.len == 0);
	recycle_destroy(&r);
}

/* A double free is stored twice, and the frame is handed out twice. */
static void double_free_goes_unnoticed(void)
{
	struct recycle r = fresh();
	uint64_t p, q, s;

	CHECK(recycle_alloc(&r, 1, &p) == 0);
	recycle_free(&r, p, 1);
	recycle_free(&r, p, 1);
	CHECK(r.len == 2);
	CHECK(recycle_alloc(&r, 1, &q) == 0 && recycle_alloc(&r, 1, &s) == 0);
	CHECK(q == p && s == p);
	recycle_destroy(&r);
}

/* The benchmark's own set-up checks that the array it builds directly
 * equals the one real frees build; run it at a few sizes. */
static void bench_setup_matches_real_frees(void)
{
	for (uint64_t n = 1; n <= 300; n += 37) {
		struct recycle r;

		ram_map(n);
		buddy_setup(n);
		recycle_setup(&r, n, true);
		CHECKF(r.len == n && frame_free_count() == n, "n = %lu", n);
		recycle_destroy(&r);
		ram_unmap();
	}
}

/**
 * ## The benchmark runs
 *
 * `bench --quick` prints the time table for 10^2 and 10^3 free runs.
 * The test reads what it printed and passes if the table is there,
 * whatever the figures.
 */
static void bench_quick_prints_table(void)
{
	char *argv[] = { "bench", "--quick", NULL };
	char line[256];
	int rows = 0;

	bench_out = tmpfile();
	if (bench_out == NULL) {
		CHECKF(0, "no temporary file");
		return;
	}
	CHECK(bench_main(2, argv) == 0);
	rewind(bench_out);
	while (fgets(line, sizeof line, bench_out) != NULL) {
		unsigned long n;
		double b, r;

		fputs(line, stdout);
		if (sscanf(line, "| %lu | %lf | %lf |", &n, &b, &r) == 3 &&
		    b > 0 && r > 0)
			rows++;
	}
	fclose(bench_out);
	CHECKF(rows == 2, "%d table rows", rows);
}

int main(void)
{
	RUN(smallest_fit_later_wins);
	RUN(bump_when_nothing_fits);
	RUN(free_merges_both_sides);
	RUN(frees_before_noncore_are_lost);
	RUN(double_free_goes_unnoticed);
	RUN(bench_setup_matches_real_frees);
	RUN(bench_quick_prints_table);
	return check_done("test_bench");
}
