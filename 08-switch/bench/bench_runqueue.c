/*
 * bench_runqueue.c: what a scheduling decision costs, with 10 to
 * 10,000 contexts, for this scheduler (sched_next() and sched_finish()
 * of a yield, on one CPU, the register switch left out) and for a
 * re-creation of Redox 0.3.5's switch (one global test-and-set lock,
 * an update pass that locks every context, two search passes by id:
 * kernel/redox_sched.c, which the kernel's benchmark, sched_bench.c,
 * also runs with real switches on real CPUs). Also the run queue's
 * own enqueue and pop, a tick, and one lock.
 *
 * Host figures, -O2, no sanitizers: the same code the kernel runs, on
 * a host CPU. The kernel's own benchmark measures the whole switch in
 * QEMU. Each figure is the best of 5 runs (this machine is shared).
 * The re-creation keeps contexts in an array sorted by id, which is
 * cheaper to walk than Redox's B-tree: its figures are a lower bound.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../kernel/format.c"
#include "../kernel/runqueue.c"
#include "../kernel/sched.c"
#include "../kernel/balance.c"
#include "../kernel/redox_sched.c"
#include "../tests/host/host_cpu.h"

/* ---- A one-CPU environment ---- */

_Noreturn void ctx_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

uint64_t sched_env_now(void)
{
	return __builtin_ia32_rdtsc();
}

void sched_env_kick(struct runqueue *rq)
{
	(void)rq;
}

void sched_env_tick_rate(bool idle)
{
	(void)idle;
}

struct sched_entity *sched_env_switch(struct sched_entity *prev,
				      struct sched_entity *next)
{
	(void)next;
	return prev;
}

void sched_env_exited(struct sched_entity *prev)
{
	(void)prev;
}

void ctx_idle_wait(void)
{
}

static void host_take_interrupts(void)
{
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sched_entity idle, *ents;

/* One CPU with n contexts: n - 1 queued, one running. */
static struct runqueue *setup(unsigned n)
{
	struct runqueue *rq = &host_cpus[0].rq;

	for (unsigned i = 0; i < SCHED_MAX_CPUS; i++)
		runqueues[i] = NULL;
	n_cpus = 0;
	host_cpu = &host_cpus[0];
	host_cpu->irq_off = 1;
	sched_cpu_init(rq, 0, &idle);
	free(ents);
	ents = calloc(n, sizeof *ents);
	for (unsigned i = 0; i < n; i++) {
		sched_entity_init(&ents[i], SCHED_ANY_CPU);
		sched_start(&ents[i], 0);
	}
	sched_finish(rq->idle == sched_next(rq, SCHED_YIELD) ? &ents[0]
							      : rq->idle);
	return rq;
}

typedef double (*bench_fn)(unsigned n, long iters);

static double best_of_5(bench_fn f, unsigned n, long iters)
{
	double best = 1e30;

	for (int r = 0; r < 5; r++) {
		double ns = f(n, iters);

		best = ns < best ? ns : best;
	}
	return best;
}

/* ---- Ours ---- */

static double enqueue_pop(unsigned n, long iters)
{
	struct runqueue *rq = setup(n);
	double t0;

	spin_lock(&rq->lock);
	t0 = now_s();
	for (long i = 0; i < iters; i++) {
		struct sched_entity *se = rq_pop(rq);

		se->state = CTX_RUNNABLE;
		rq_enqueue(rq, se);
	}
	t0 = now_s() - t0;
	spin_unlock(&rq->lock);
	return t0 * 1e9 / (double)iters;
}

static double yield_decision(unsigned n, long iters)
{
	struct runqueue *rq = setup(n);
	double t0 = now_s();

	for (long i = 0; i < iters; i++) {
		struct sched_entity *prev = rq->curr;

		if (sched_next(rq, SCHED_YIELD) != prev)
			sched_finish(prev);
	}
	return (now_s() - t0) * 1e9 / (double)iters;
}

static double tick(unsigned n, long iters)
{
	setup(n);
	double t0 = now_s();

	for (long i = 0; i < iters; i++)
		sched_tick();
	return (now_s() - t0) * 1e9 / (double)iters;
}

/* ---- Redox 0.3.5's switch(), re-created (kernel/redox_sched.c) ---- */

static struct redox_world rworld;
static struct redox_cpu rcpu;

static double redox_decision(unsigned n, long iters)
{
	double t0;

	free(rworld.ctx);
	rworld = (struct redox_world){ .ctx = calloc(n, sizeof *rworld.ctx),
				       .n = n };
	for (unsigned i = 0; i < n; i++)
		rworld.ctx[i] = (struct redox_ctx){ .id = i + 1,
						     .status = REDOX_RUNNABLE,
						     .cpu = REDOX_NO_CPU };
	rcpu = (struct redox_cpu){ .index = 0, .current = 0 };
	rworld.ctx[0].running = true;
	t0 = now_s();
	for (long i = 0; i < iters; i++)
		if (redox_pick(&rworld, &rcpu, __builtin_ia32_rdtsc()) == n)
			abort();
	return (now_s() - t0) * 1e9 / (double)iters;
}

/* ---- Locks ---- */

static double ticket_pair(unsigned n, long iters)
{
	static struct spinlock l = SPINLOCK_INIT("bench");
	double t0 = now_s();

	(void)n;
	for (long i = 0; i < iters; i++) {
		spin_lock(&l);
		spin_unlock(&l);
	}
	return (now_s() - t0) * 1e9 / (double)iters;
}

static double tas_pair(unsigned n, long iters)
{
	static uint32_t l;
	uint64_t spins = 0;
	double t0 = now_s();

	(void)n;
	for (long i = 0; i < iters; i++) {
		redox_lock(&l, &spins);
		redox_unlock(&l);
	}
	return (now_s() - t0) * 1e9 / (double)iters;
}

int main(int argc, char **argv)
{
	static const unsigned sizes[] = { 10, 100, 1000, 10000 };
	double ours[4], redox[4];
	long scale = argc > 1 ? atol(argv[1]) : 1;  /* 0: a quick look */

	printf("scheduling decision per switch (ns, best of 5; host CPU, "
	       "-O2)\n");
	printf("%10s %12s %12s %10s %14s %12s\n", "contexts", "enqueue+pop",
	       "our yield", "our tick", "Redox 0.3.5", "Redox/ours");
	for (int i = 0; i < 4; i++) {
		unsigned n = sizes[i];
		long it = scale ? 2000000 * scale : 20000;
		long rit = (scale ? 20000000 * scale : 200000) / n;
		double eq = best_of_5(enqueue_pop, n, it);
		double tk = best_of_5(tick, n, it / 4);

		ours[i] = best_of_5(yield_decision, n, it);
		redox[i] = best_of_5(redox_decision, n, rit < 50 ? 50 : rit);
		printf("%10u %12.1f %12.1f %10.1f %14.1f %12.1f\n", n, eq,
		       ours[i], tk, redox[i], redox[i] / ours[i]);
	}
	printf("growth from 10 to 10,000 contexts: ours %.2fx, Redox "
	       "%.0fx; Redox/ours at 1,000: %.0fx\n", ours[3] / ours[0],
	       redox[3] / redox[0], redox[2] / ours[2]);
	printf("one lock, taken and released, uncontended: ticket %.1f "
	       "ns (with the interrupt and preempt bookkeeping), plain "
	       "test-and-set %.1f ns\n",
	       best_of_5(ticket_pair, 0, scale ? 10000000 : 100000),
	       best_of_5(tas_pair, 0, scale ? 10000000 : 100000));
	return 0;
}
