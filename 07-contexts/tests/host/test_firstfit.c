/*
 * test_firstfit.c: host tests for the benchmark's side of chapter 05:
 * bench/firstfit.c, the re-creation of Redox 0.3.5's first-fit heap
 * that bench/bench_heap.c measures our heap against, and a quick run of
 * the benchmark itself.
 *
 * Unity build: the benchmark (which includes kernel/heap.c) and
 * firstfit.c are included whole, the benchmark's main() renamed.
 *
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Wall -Wextra -Werror -DHOST_TEST \
 *       -I kernel -o build/host/test_firstfit tests/host/test_firstfit.c
 *   build/host/test_firstfit
 *
 * No timing is checked, ever.
 */
#define main bench_main
#include "../../bench/bench_heap.c"
#undef main
#include "../../bench/firstfit.c"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/**
 * ## Is the re-creation faithful?
 *
 * The comparison is only fair if firstfit.c does what
 * linked_list_allocator 0.5 and Redox's wrapper do, so their
 * behaviours are pinned down here, including the ones the chapter
 * criticises: every free walks the holes from the lowest address, so
 * does every piece of padding an allocation gives back, alignment
 * cuts small holes, and the heap never shrinks.
 */
static _Alignas(4096) uint8_t arena[64 * 1024];
#define A ((uintptr_t)arena)

static struct ff_heap fresh_ff(size_t size)
{
	struct ff_heap h;

	ff_init(&h, A, size);
	return h;
}

/* The list of holes as (offset, size) pairs, for comparisons. */
static bool holes_are(const struct ff_heap *h, const size_t *want, int n)
{
	const struct ff_hole *p = h->first.next;

	for (int i = 0; i < n; i++, p = p->next)
		if (p == NULL || (uintptr_t)p - A != want[2 * i] ||
		    p->size != want[2 * i + 1])
			return false;
	return p == NULL;
}

/* The first hole that fits wins, not the best one. */
static void first_hole_that_fits(void)
{
	struct ff_heap h = fresh_ff(1024);
	void *a = ff_alloc(&h, 64, 8), *b = ff_alloc(&h, 16, 8);
	void *c = ff_alloc(&h, 32, 8), *d = ff_alloc(&h, 16, 8);

	ff_free(&h, a, 64);                /* holes: 64 at 0, 32 at 80 */
	ff_free(&h, c, 32);
	CHECK(holes_are(&h, (size_t[]){ 0, 64, 80, 32, 128, 896 }, 3));
	CHECK(ff_alloc(&h, 32, 8) == arena);   /* not the exact 32 at 80 */
	CHECK(holes_are(&h, (size_t[]){ 32, 32, 80, 32, 128, 896 }, 3));
	(void)b;
	(void)d;
}

/* Sizes go up to 16 bytes and to a multiple of 8. */
static void sizes_rounded(void)
{
	struct ff_heap h = fresh_ff(1024);

	CHECK(ff_alloc(&h, 1, 8) == arena);
	CHECK(ff_alloc(&h, 17, 8) == arena + 16);
	CHECK(ff_alloc(&h, 8, 8) == arena + 40);
	CHECK(holes_are(&h, (size_t[]){ 56, 1024 - 56 }, 1));
}

/* A misaligned hole is split: the padding in front is at least 16
 * bytes, so the block starts at align_up(hole + 16). */
static void alignment_cuts_a_hole(void)
{
	struct ff_heap h = fresh_ff(1024);
	uint8_t *p;

	CHECK(ff_alloc(&h, 24, 8) == arena);        /* hole now at 24 */
	p = ff_alloc(&h, 32, 64);
	CHECK(p == arena + 64);                     /* not 24, not 40 */
	CHECK(holes_are(&h, (size_t[]){ 24, 40, 96, 1024 - 96 }, 2));
	p = ff_alloc(&h, 8, 16);                    /* at 24: +16, up */
	CHECK(p == arena + 48);
	CHECK(holes_are(&h, (size_t[]){ 24, 24, 96, 1024 - 96 }, 2));
}

/* A hole that would leave a remainder under 16 bytes is skipped. */
static void unusable_remainder_skipped(void)
{
	struct ff_heap h = fresh_ff(1024);
	void *a = ff_alloc(&h, 40, 8), *b = ff_alloc(&h, 16, 8);

	ff_free(&h, a, 40);                         /* a hole of 40 */
	CHECK(ff_alloc(&h, 32, 8) == arena + 56);   /* 40 - 32 = 8: no */
	CHECK(ff_alloc(&h, 24, 8) == arena);        /* 40 - 24 = 16: yes */
	(void)b;
}

/* A freed block joins the hole before it, the hole after it, or both;
 * between two holes it is linked in address order. */
static void free_coalesces(void)
{
	struct ff_heap h = fresh_ff(256);
	uint8_t *b[8];

	for (int i = 0; i < 8; i++)
		b[i] = ff_alloc(&h, 32, 8);
	CHECK(h.first.next == NULL);                /* all taken */
	ff_free(&h, b[1], 32);
	ff_free(&h, b[5], 32);
	ff_free(&h, b[3], 32);                      /* in the middle */
	CHECK(holes_are(&h, (size_t[]){ 32, 32, 96, 32, 160, 32 }, 3));
	ff_free(&h, b[2], 32);                      /* fills a gap */
	CHECK(holes_are(&h, (size_t[]){ 32, 96, 160, 32 }, 2));
	ff_free(&h, b[0], 32);                      /* before */
	ff_free(&h, b[6], 32);                      /* after */
	CHECK(holes_are(&h, (size_t[]){ 0, 128, 160, 64 }, 2));
	ff_free(&h, b[4], 32);
	ff_free(&h, b[7], 32);
	CHECK(holes_are(&h, (size_t[]){ 0, 256 }, 1));
}

/* Freeing memory that is already free fails the crate's assertion: in
 * a child process, which must die of abort(). */
static void double_free_asserts(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct ff_heap h = fresh_ff(1024);
		void *a = ff_alloc(&h, 64, 8);

		ff_alloc(&h, 64, 8);
		ff_free(&h, a, 64);
		freopen("/dev/null", "w", stderr);
		ff_free(&h, a, 64);
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

/* Redox's wrapper: 1 MiB at first; a request that does not fit maps 1
 * MiB more at the top and extends the heap, again and again until it
 * fits; nothing is ever given back. */
static size_t mapped_by_test;

static void count_map(uintptr_t start, size_t length)
{
	(void)start;
	mapped_by_test += length;
}

static void redox_grows_never_shrinks(void)
{
	static _Alignas(4096) uint8_t big[8 << 20];
	struct redox_heap r;
	void *p, *q;

	mapped_by_test = 0;
	redox_init(&r, (uintptr_t)big, (uintptr_t)big + sizeof big,
		   count_map);
	CHECK(mapped_by_test == 1 << 20 && r.heap.size == 1 << 20);
	p = redox_alloc(&r, 3 << 20, 8);           /* 1 + 1 + 1 MiB */
	CHECK(p == big && r.grows == 2 && mapped_by_test == 3 << 20);
	q = redox_alloc(&r, 100, 8);
	CHECK(q != NULL && r.grows == 3);          /* the top was full */
	redox_free(&r, p, 3 << 20);
	redox_free(&r, q, 100);
	CHECK(ff_holes(&r.heap) == 1 && mapped_by_test == 4 << 20);
	CHECK(redox_alloc(&r, 9 << 20, 8) == NULL);  /* past the window */
}

/* The cost the benchmark measures: a free walks every hole below, and
 * an allocation that splits a hole gives each piece back with a walk
 * of its own, as the crate's deallocate() from the lowest hole. */
static void free_walks_holes(void)
{
	struct ff_heap h = fresh_ff(sizeof arena);
	uint8_t *b[200], *p;
	uint64_t s0;

	for (int i = 0; i < 200; i++)
		b[i] = ff_alloc(&h, 32, 8);
	for (int i = 0; i < 200; i += 2)
		ff_free(&h, b[i], 32);
	CHECK(ff_holes(&h) == 101);                 /* 100 + the top */
	s0 = h.steps;
	ff_free(&h, b[199], 32);                    /* joins the top */
	CHECK(ff_holes(&h) == 100);
	CHECK(h.steps - s0 == 100);                 /* passed 100 holes */
	s0 = h.steps;
	p = ff_alloc(&h, 64, 128);                  /* in the top hole, */
	CHECK(p == arena + 6400);                   /* after 64 padding */
	CHECK(ff_holes(&h) == 101);
	CHECK(h.steps - s0 >= 3 * 99);              /* three walks */
}

/* ---- The benchmark, quickly ---- */

static void bench_quick_prints_tables(void)
{
	char *argv[] = { "bench_heap", "--quick", NULL };
	char line[256];
	int rows = 0, reps = 0, frag = 0;

	bench_out = tmpfile();
	if (bench_out == NULL) {
		CHECK(!"no temporary file");
		return;
	}
	CHECK(bench_main(2, argv) == 0);
	rewind(bench_out);
	while (fgets(line, sizeof line, bench_out) != NULL) {
		unsigned long n;
		char size[32];
		double a, b, c;

		if (sscanf(line, "| %lu | %31[^ |] | %lf | %lf | %lf |", &n,
			   size, &a, &b, &c) == 5)
			rows += a > 0 && b > 0 && c > 0;
		if (sscanf(line, "| %lu | %*u x %*d | %lf (%*f-%*f) | %lf "
			   "(%*f-%*f) | %lf (", &n, &a, &b, &c) == 4)
			reps += a > 0 && b > 0 && c > 0;
		if (sscanf(line, "| ours | %lf | %lf |", &a, &b) == 2)
			frag += a >= 1.0 && b >= 1.0;
	}
	fclose(bench_out);
	bench_out = NULL;
	CHECKF(rows == 4 && reps == 2 && frag == 1, "%d rows of pairs, %d of "
	       "replacements, %d fragmentation lines", rows, reps, frag);
}

int main(void)
{
	RUN(first_hole_that_fits);
	RUN(sizes_rounded);
	RUN(alignment_cuts_a_hole);
	RUN(unusable_remainder_skipped);
	RUN(free_coalesces);
	RUN(double_free_asserts);
	RUN(redox_grows_never_shrinks);
	RUN(free_walks_holes);
	RUN(bench_quick_prints_tables);
	return check_done("test_firstfit");
}
