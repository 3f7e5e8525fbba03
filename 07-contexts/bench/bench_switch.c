/*
 * bench_switch.c: what a context switch costs on the host, with no FPU
 * state saved (the baseline), with FXSAVE64/FXRSTOR64, and with
 * XSAVE64/XRSTOR64 over x87+SSE+AVX and over everything XCR0 enables;
 * a yield round trip through context.c; and spawn + exit + join. All
 * figures in the same run, as ratios to the baseline too. `make bench`
 * builds it with -O2 (no sanitisers), linked with switch.asm built for
 * user space, and runs it:
 *
 *   bench_switch            the tables (a few seconds)
 *   bench_switch --quick    small counts, to show the program works
 *
 * Like the host tests, it includes the files it measures. The kernel's
 * own benchmark (in QEMU, under TCG) measures the same three switches
 * in cycles; these are the figures for a real CPU.
 */
#define _GNU_SOURCE
#define HOST_TEST          /* fpu.c without its control-register part */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../kernel/format.c"
#include "../kernel/fpu.c"
#include "../kernel/context_table.c"
#include "../kernel/context.c"
#include "../tests/host/ctx_env.h"
#include "../tests/host/fpu_host.h"

/**
 * ## How the benchmark works
 *
 * **A raw switch.** Two contexts, the program's own and one started
 * with context_start, switch to each other with switch_to() in a
 * tight loop: one round trip is two switches. Only the FPU mode
 * changes between rows. The time is the median of seven runs (this
 * machine is shared), in nanoseconds from CLOCK_MONOTONIC and in TSC
 * ticks from RDTSC, per switch.
 *
 * **A yield round trip** goes through context.c: two contexts on CPU
 * 0 call context_yield() in turn, so each switch also pushes the old
 * context onto the ring, pops the new one, checks the inbox and
 * updates the states.
 *
 * **Spawn + exit + join**: a context spawned on CPU 0 that returns at
 * once, joined by another context on CPU 0: the allocation of the
 * context and its FPU area, a stack (here mmap and munmap, which the
 * kernel replaces with frames and page tables and a TLB shootdown),
 * two switches, and the reaping.
 */
static uint64_t rdtsc_now(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static uint64_t ns_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* ---- Raw switch_to ---- */

static struct context *me, *other;
static volatile long rounds;

static long bounce(void *arg)
{
	(void)arg;
	for (;;)
		switch_to(other, me, NULL);
	return 0;
}

static struct context *raw_context(void)
{
	struct context *c = aligned_alloc(64, CTX_FPU + FPU_AREA_MAX);

	memset(c, 0, CTX_FPU + FPU_AREA_MAX);
	fpu_clean_image(c->fpu);
	return c;
}

struct figure {
	double ns, ticks;        /* per switch */
};

static int by_ns(const void *a, const void *b)
{
	double x = ((const struct figure *)a)->ns;
	double y = ((const struct figure *)b)->ns;

	return (x > y) - (x < y);
}

static struct figure median(struct figure *f, int n)
{
	qsort(f, (size_t)n, sizeof *f, by_ns);
	return f[n / 2];
}

#define RUNS 7

static struct figure raw_switch(long n)
{
	struct figure f[RUNS];
	static uint8_t stack[64 * 1024] __attribute__((aligned(4096)));
	uint64_t *top = (uint64_t *)(stack + sizeof stack);

	me = raw_context();
	other = raw_context();
	top[-1] = 0;
	top[-2] = (uint64_t)(uintptr_t)context_start;
	other->rsp = (uint64_t)(uintptr_t)&top[-2];
	other->r12 = (uint64_t)(uintptr_t)bounce;
	other->rflags = 0x2;
	switch_to(me, other, NULL);          /* it starts, and comes back */
	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = ns_now(), c0 = rdtsc_now();

		for (long i = 0; i < n; i++)
			switch_to(me, other, NULL);
		f[r].ticks = (double)(rdtsc_now() - c0) / (2.0 * n);
		f[r].ns = (double)(ns_now() - t0) / (2.0 * n);
	}
	free(me);
	free(other);
	return median(f, RUNS);
}

/* ---- Through context.c ---- */

static long yields_left;

static long yielder(void *arg)
{
	(void)arg;
	while (yields_left-- > 0)
		context_yield();
	return 0;
}

static struct figure result;
static long bench_n;

static void yield_bench(void)
{
	struct figure f[RUNS];

	for (int r = 0; r < RUNS; r++) {
		ctx_id_t a, b;
		uint64_t t0 = ns_now(), c0 = rdtsc_now();

		yields_left = 2 * bench_n;
		a = context_spawn(yielder, NULL, "a", 0);
		b = context_spawn(yielder, NULL, "b", 0);
		context_join(a, NULL);
		context_join(b, NULL);
		f[r].ticks = (double)(rdtsc_now() - c0) / (2.0 * bench_n);
		f[r].ns = (double)(ns_now() - t0) / (2.0 * bench_n);
	}
	result = median(f, RUNS);
}

static long nothing(void *arg)
{
	(void)arg;
	return 0;
}

/* What the host's own stack costs: kstack_alloc() and kstack_free()
 * of ctx_env.h (mmap, mprotect, a first touch, munmap). */
static void stack_bench(void)
{
	struct figure f[RUNS];

	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = ns_now(), c0 = rdtsc_now();

		for (long i = 0; i < bench_n; i++) {
			struct kstack ks;

			if (kstack_alloc(CTX_STACK_PAGES, NULL, &ks) != 0)
				abort();
			((volatile uint8_t *)(uintptr_t)ks.top)[-8] = 1;
			kstack_free(&ks);
		}
		f[r].ticks = (double)(rdtsc_now() - c0) / (double)bench_n;
		f[r].ns = (double)(ns_now() - t0) / (double)bench_n;
	}
	result = median(f, RUNS);
}

static void spawn_bench(void)
{
	struct figure f[RUNS];

	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = ns_now(), c0 = rdtsc_now();

		for (long i = 0; i < bench_n; i++)
			context_join(context_spawn(nothing, NULL, "s", 0),
				     NULL);
		f[r].ticks = (double)(rdtsc_now() - c0) / (double)bench_n;
		f[r].ns = (double)(ns_now() - t0) / (double)bench_n;
	}
	result = median(f, RUNS);
}

/* Run fn in a context on CPU 0 (an idle context may not join). */
static long run_fn(void *arg)
{
	((void (*)(void))arg)();
	return 0;
}

static void in_context(void (*fn)(void))
{
	ctx_id_t id = context_spawn(run_fn, (void *)fn, "bench", 0);
	struct context *t;

	for (;;) {
		t = ctx_table_get(&all_contexts, id);
		if (__atomic_load_n(&t->joiner, __ATOMIC_SEQ_CST) ==
		    CTX_JOIN_DONE)
			break;
		ctx_table_put(&all_contexts, id);
		context_idle_once();
	}
	ctx_table_put(&all_contexts, id);
	reap(t);
}

static void row(const char *what, struct figure f, struct figure base)
{
	printf("| %-36s | %8.1f | %8.1f | %6.2f |\n", what, f.ns, f.ticks,
	       f.ns / base.ns);
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	long n = quick ? 1000 : 2000000;
	struct fpu_config host, c;
	struct figure none, fx, xs_avx, xs_all, y_fx, y_xs;
	struct figure sp, st, sp_cached;
	char buf[80];

	if (fpu_choose(cpuid_host, &host) != 0)
		return 1;
	c = (struct fpu_config){ FPU_NONE, FPU_AREA_MAX, 0 };
	fpu_apply(&c);
	none = raw_switch(n);
	c = (struct fpu_config){ FPU_FXSAVE, FPU_FXSAVE_SIZE, 3 };
	fpu_apply(&c);
	fx = raw_switch(n);
	xs_avx = xs_all = fx;
	if (host.mode == FPU_XSAVE) {
		c = host;
		c.xcr0 = host.xcr0 & xgetbv0() & (XCR0_X87 | XCR0_SSE |
						  XCR0_AVX);
		c.size = fpu_xsave_size(cpuid_host, c.xcr0);
		fpu_apply(&c);
		xs_avx = raw_switch(n);
		c.xcr0 = host.xcr0 & xgetbv0();
		c.size = fpu_xsave_size(cpuid_host, c.xcr0);
		fpu_apply(&c);
		xs_all = raw_switch(n);
	}
	printf("## One switch_to(), on the host (median of %d runs of %ld "
	       "round trips)\n\n", RUNS, n);
	printf("| %-36s | %8s | %8s | %6s |\n", "FPU state saved", "ns",
	       "TSC", "ratio");
	printf("|%.38s|%.10s|%.10s|%.8s|\n", "-------------------------------"
	       "-------", "----------", "----------", "--------");
	row("none (the baseline)", none, none);
	row("FXSAVE64/FXRSTOR64, 512 bytes", fx, none);
	if (host.mode == FPU_XSAVE) {
		snprintf(buf, sizeof buf, "XSAVE64/XRSTOR64 x87 SSE AVX, %u B",
			 fpu_xsave_size(cpuid_host, xgetbv0() & 7));
		row(buf, xs_avx, none);
		snprintf(buf, sizeof buf, "XSAVE64/XRSTOR64 XCR0 %#lx, %u B",
			 c.xcr0, c.size);
		row(buf, xs_all, none);
	}

	/* context.c, in the kernel's own mode: the host's choice */
	c = host;
	c.xcr0 &= xgetbv0();
	fpu_apply(&c);
	host_cpu0();
	bench_n = quick ? 1000 : 1000000;
	fpu_mode = FPU_FXSAVE;
	in_context(yield_bench);
	y_fx = result;
	fpu_mode = c.mode;
	in_context(yield_bench);
	y_xs = result;
	bench_n = quick ? 100 : 5000;
	in_context(spawn_bench);
	sp = result;
	in_context(stack_bench);
	st = result;
	host_stack_cache = true;
	bench_n = quick ? 100 : 200000;
	in_context(spawn_bench);
	sp_cached = result;
	host_stack_cache = false;
	printf("\n## Through context.c, one CPU (median of %d runs)\n\n",
	       RUNS);
	printf("| %-36s | %8s | %8s | %6s |\n", "what", "ns", "TSC",
	       "ratio");
	printf("|%.38s|%.10s|%.10s|%.8s|\n", "-------------------------------"
	       "-------", "----------", "----------", "--------");
	row("a yield's switch, FXSAVE", y_fx, none);
	row(fpu_mode == FPU_XSAVE ? "a yield's switch, XSAVE (all)" :
	    "a yield's switch, FXSAVE", y_xs, none);
	row("spawn + exit + join, stacks reused", sp_cached, none);
	row("spawn + exit + join, stacks mmap'd", sp, none);
	row("  of which the host's mmap/munmap", st, none);
	printf("\nSUMMARY switch ns: none %.1f fxsave %.1f xsave-avx %.1f "
	       "xsave-all %.1f yield %.1f spawn+join %.0f (reused stacks "
	       "%.0f)\n", none.ns, fx.ns, xs_avx.ns, xs_all.ns, y_xs.ns,
	       sp.ns, sp_cached.ns);
	return 0;
}
