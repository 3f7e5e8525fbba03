/*
 * test_sim.c: the scheduler's code in the simulator (sim_env.h):
 * virtual CPUs, virtual time, one host thread, the same result every
 * run. Each case is a workload and the figures it must show: equal
 * shares of CPU time, idle CPUs taking work, pinned contexts staying,
 * sleepers waking on time, slices, preemption switched off, the
 * reschedule IPI, semaphores and mutexes.
 *
 * Each case prints its figures on indented lines. SIM_REPORT=1 (`make
 * sim`) adds each CPU's figures and a status line per virtual second,
 * as the kernel prints them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "format.c"
#include "../../kernel/runqueue.c"
#include "../../kernel/sched.c"
#include "../../kernel/balance.c"
#include "../../kernel/wait.c"
#include "host_cpu.h"
#include "sim_env.h"

#define MS 1000000ull
#define SEC 1000000000ull

static bool report;

/* ---- Figures ---- */

static void cpu_figures(uint64_t span)
{
	if (!report)
		return;
	for (unsigned k = 0; k < sim_ncpus; k++) {
		struct sched_cpu_stats *s = &host_cpus[k].rq.st;

		printf("    cpu%u: %6lu switches %5.1f%% idle, queue max %u,"
		       " %lu steals, %lu given, %lu IPIs, %lu halts\n", k,
		       (unsigned long)s->switches,
		       100.0 * (double)s->idle_ns / (double)span,
		       s->max_queued, (unsigned long)s->steals,
		       (unsigned long)s->given, (unsigned long)s->kicks,
		       (unsigned long)s->halts);
	}
}

/* Max/min CPU time over tasks [from, to). */
static double share_ratio(int from, int to, uint64_t *min, uint64_t *max)
{
	*min = UINT64_MAX;
	*max = 0;
	for (int i = from; i < to; i++) {
		uint64_t r = sim_task[i]->se.runtime;

		*min = r < *min ? r : *min;
		*max = r > *max ? r : *max;
	}
	return *min ? (double)*max / (double)*min : 1e9;
}

static double idle_pct(unsigned k, uint64_t span)
{
	return 100.0 * (double)host_cpus[k].rq.st.idle_ns / (double)span;
}

/* The status line, as the kernel prints it each second. */
static void status_lines(uint64_t seconds)
{
	struct sched_cpu_stats prev[HOST_MAX_CPUS] = { 0 };
	char line[100];

	for (uint64_t s = 0; s < seconds; s++) {
		sim_run(SEC);
		for (unsigned k = 0; k < sim_ncpus; k += 3) {
			unsigned n = sim_ncpus - k < 3 ? sim_ncpus - k : 3;

			sched_format_status(line, sizeof line, prev + k, k,
					    n, SEC);
			if (report)
				printf("    t=%lus %s\n",
				       (unsigned long)s + 1, line);
		}
	}
}

/* ---- Programs ---- */

static const struct sim_op hog[] = {
	{ OP_RUN, 5 * MS, 0 }, { OP_LOOP, 0, 0 },
};

/* n CPU-bound contexts on ncpus CPUs for ns; max/min CPU time. */
static double hogs(unsigned ncpus, int n, uint64_t ns, uint64_t *lo,
		   uint64_t *hi)
{
	sim_setup(ncpus);
	for (int i = 0; i < n; i++)
		sim_spawn(hog, "hog", -1, SCHED_ANY_CPU);
	sim_run(ns);
	return share_ratio(0, n, lo, hi);
}

/* ---- Cases ---- */

static void fair_equal(void)
{
	uint64_t lo, hi;
	double r = hogs(4, 12, 5 * SEC, &lo, &hi);

	printf("  12 on 4 CPUs for 5 s: CPU time %.3f to %.3f s, max/min "
	       "%.3f; idle %.2f%%\n", lo / 1e9, hi / 1e9, r,
	       idle_pct(0, 5 * SEC));
	cpu_figures(5 * SEC);
	CHECKF(r <= 1.05, "max/min CPU time %.3f", r);
	for (unsigned k = 0; k < 4; k++)
		CHECKF(idle_pct(k, 5 * SEC) < 0.5, "cpu%u idle %.2f%%", k,
		       idle_pct(k, 5 * SEC));
}

static void spread_from_cpu0(void)
{
	uint64_t lo, hi, steals = 0;
	double r;

	sim_setup(4);
	for (int i = 0; i < 8; i++)
		sim_spawn(hog, "hog", 0, SCHED_ANY_CPU);
	sim_run(200 * MS);
	for (unsigned k = 0; k < 4; k++) {
		CHECKF(host_cpus[k].rq.load == 2, "cpu%u has %u after "
		       "200 ms", k, host_cpus[k].rq.load);
		steals += host_cpus[k].rq.st.steals;
	}
	status_lines(5);
	r = share_ratio(0, 8, &lo, &hi);
	printf("  8 started on CPU 0 of 4: 2 per CPU after 200 ms (%lu "
	       "moves); over 5.2 s max/min CPU time %.3f\n",
	       (unsigned long)steals, r);
	cpu_figures(5 * SEC + 200 * MS);
	CHECKF(r <= 1.2, "max/min CPU time %.3f", r);
	CHECK(steals >= 3);
}

static void pinned_stay(void)
{
	uint64_t lo, hi;
	double r;

	sim_setup(4);
	for (int i = 0; i < 4; i++)
		sim_spawn(hog, "pinned", 0, 0);
	for (int i = 0; i < 3; i++)
		sim_spawn(hog, "free", 0, SCHED_ANY_CPU);
	sim_run(3 * SEC);
	for (int i = 0; i < 4; i++)
		CHECKF(sim_task[i]->cpus_seen == 1, "pinned %d ran on "
		       "mask %#lx", i,
		       (unsigned long)sim_task[i]->cpus_seen);
	for (unsigned k = 1; k < 4; k++)
		CHECKF(idle_pct(k, 3 * SEC) < 1, "cpu%u idle %.2f%%", k,
		       idle_pct(k, 3 * SEC));
	r = share_ratio(0, 4, &lo, &hi);
	printf("  4 pinned to CPU 0 and 3 free, all started there: pinned "
	       "ran only on CPU 0 (%.3f-%.3f s each), free ones on CPUs "
	       "1-3 (%.3f s each)\n", lo / 1e9, hi / 1e9,
	       sim_task[4]->se.runtime / 1e9);
	cpu_figures(3 * SEC);
	CHECKF(r <= 1.05, "pinned max/min %.3f", r);
}

static const struct sim_op sleeper10[] = {
	{ OP_SLEEP, 10 * MS, 0 }, { OP_RUN, 100000, 0 },
	{ OP_LOOP, 0, 0 },
};

static void sleepers_on_time(void)
{
	struct sim_task *alone, *shared;

	sim_setup(2);
	alone = sim_spawn(sleeper10, "alone", 1, 1);
	shared = sim_spawn(sleeper10, "shared", 0, 0);
	sim_spawn(hog, "hog", 0, 0);
	sim_spawn(hog, "hog", 0, 0);
	sim_run(5 * SEC);
	printf("  sleep 10 ms on an idle CPU: %lu sleeps, late %lu us on "
	       "average, %lu us at worst (a tick is %llu us)\n",
	       (unsigned long)alone->sleeps,
	       (unsigned long)(alone->late_sum / alone->sleeps / 1000),
	       (unsigned long)alone->late_max / 1000, SCHED_TICK_NS / 1000);
	printf("  the same beside 2 CPU-bound contexts: late %lu us on "
	       "average, %lu us at worst (behind their slices)\n",
	       (unsigned long)(shared->late_sum / shared->sleeps / 1000),
	       (unsigned long)shared->late_max / 1000);
	cpu_figures(5 * SEC);
	CHECKF(alone->sleeps > 400, "%lu sleeps",
	       (unsigned long)alone->sleeps);
	CHECKF(alone->late_max <= SCHED_TICK_NS + 2 * sim_dt,
	       "late by %lu ns", (unsigned long)alone->late_max);
	CHECKF(shared->late_max <= SCHED_TICK_NS +
	       2 * SCHED_SLICE_TICKS * SCHED_TICK_NS + 2 * sim_dt,
	       "late by %lu ns", (unsigned long)shared->late_max);
}

static void slices(void)
{
	uint64_t want = SCHED_SLICE_TICKS * SCHED_TICK_NS;

	sim_setup(1);
	for (int i = 0; i < 3; i++)
		sim_spawn(hog, "hog", 0, SCHED_ANY_CPU);
	sim_run(3 * SEC);
	printf("  3 on 1 CPU for 3 s: %lu switches, %lu preemptions "
	       "(a slice is %lu ms); longest run %lu us\n",
	       (unsigned long)host_cpus[0].rq.st.switches,
	       (unsigned long)host_cpus[0].rq.st.preemptions,
	       (unsigned long)(want / MS),
	       (unsigned long)sim_task[0]->longest_run / 1000);
	for (int i = 0; i < 3; i++)
		CHECKF(sim_task[i]->longest_run <= want + sim_dt,
		       "task %d ran %lu ns at once", i,
		       (unsigned long)sim_task[i]->longest_run);
	CHECKF(host_cpus[0].rq.st.preemptions >= 3 * SEC / want - 2,
	       "%lu preemptions",
	       (unsigned long)host_cpus[0].rq.st.preemptions);
}

static const struct sim_op no_preempt[] = {
	{ OP_RUN, 3 * MS, 0 }, { OP_NOPREEMPT, 0, 0 },
	{ OP_RUN, 35 * MS, 0 }, { OP_PREEMPT, 0, 0 },
	{ OP_RUN, 7 * MS, 0 }, { OP_LOOP, 0, 0 },
};

static void preempt_off(void)
{
	uint64_t slice = SCHED_SLICE_TICKS * SCHED_TICK_NS;
	struct sim_task *a, *b;

	sim_setup(1);
	a = sim_spawn(no_preempt, "no-preempt", 0, SCHED_ANY_CPU);
	b = sim_spawn(hog, "hog", 0, SCHED_ANY_CPU);
	sim_run(2 * SEC);
	printf("  35 ms with preemption off, slice %lu ms: it ran %lu us "
	       "at once; the other at most %lu us\n",
	       (unsigned long)(slice / MS),
	       (unsigned long)a->longest_run / 1000,
	       (unsigned long)b->longest_run / 1000);
	CHECKF(a->longest_run >= 35 * MS, "ran %lu ns at most",
	       (unsigned long)a->longest_run);
	CHECKF(a->longest_run <= 35 * MS + slice + sim_dt,
	       "ran %lu ns: not preempted when it allowed it",
	       (unsigned long)a->longest_run);
	CHECKF(b->longest_run <= slice + sim_dt, "other ran %lu ns",
	       (unsigned long)b->longest_run);
}

static void idle_halts(void)
{
	sim_setup(2);
	sim_spawn(hog, "hog", 0, SCHED_ANY_CPU);
	sim_run(SEC);
	printf("  1 context on 2 CPUs: cpu0 idle %.2f%%, cpu1 idle %.2f%% "
	       "with %lu halts; cpu0 switched %lu times; ticks: cpu0 %lu, "
	       "cpu1 %lu (its slow idle tick)\n",
	       idle_pct(0, SEC), idle_pct(1, SEC),
	       (unsigned long)host_cpus[1].rq.st.halts,
	       (unsigned long)host_cpus[0].rq.st.switches,
	       (unsigned long)host_cpus[0].rq.st.ticks,
	       (unsigned long)host_cpus[1].rq.st.ticks);
	CHECK(idle_pct(0, SEC) < 0.1);
	CHECK(idle_pct(1, SEC) > 99.9);
	CHECK(host_cpus[0].rq.st.switches == 1);   /* idle -> hog */
	/* the busy CPU at SCHED_HZ, the idle one at SCHED_IDLE_HZ, slowed
	 * once and halted once a tick */
	CHECK(host_cpus[0].rq.st.ticks >= SCHED_HZ - 1);
	CHECK(host_cpus[1].rq.st.ticks <= SCHED_BALANCE_TICKS +
	      SCHED_IDLE_HZ + 1);
	CHECK(host_cpus[1].rq.st.slowed == 1);
	CHECK(host_cpus[1].rq.st.halts >= SCHED_IDLE_HZ - 1);
	CHECK(host_cpus[1].rq.st.halts <= SCHED_BALANCE_TICKS +
	      SCHED_IDLE_HZ + 2);
}

/* A context that frees itself from CPU 0 while CPU 0 is busy: nothing
 * wakes or starts, so only the busy CPU's tick can tell CPU 1, halted
 * on its slow idle tick, that there is work to take. */
static const struct sim_op unpin_then_hog[] = {
	{ OP_PIN, (uint64_t)SCHED_ANY_CPU, 0 }, { OP_RUN, 5 * MS, 0 },
	{ OP_LOOP, 1, 0 },
};

static void slow_idle_told(void)
{
	struct sim_task *freed;
	uint64_t t = 0;

	sim_setup(2);
	sim_spawn(hog, "hog", 0, 0);
	sim_run(200 * MS);                      /* CPU 1's tick slows */
	freed = sim_spawn(unpin_then_hog, "freed", 0, 0);
	while (t < 100 * MS && !(freed->cpus_seen & 2)) {
		sim_run(MS);
		t += MS;
	}
	printf("  a context freed from busy CPU 0 ran on CPU 1 (ticking at "
	       "%u Hz) after %lu ms; %lu IPIs to CPU 1\n", SCHED_IDLE_HZ,
	       (unsigned long)(t / MS),
	       (unsigned long)host_cpus[1].rq.st.kicks);
	CHECK(host_cpus[1].rq.st.slowed >= 1);
	CHECKF(t <= 3 * SCHED_BALANCE_TICKS * MS, "after %lu ms",
	       (unsigned long)(t / MS));
}

/* A halted CPU woken by the reschedule IPI: waiter on CPU 0, waker on
 * CPU 1; the waker notes the time (MARK 0) just before sem_up. */
static const struct sim_op waiter[] = {
	{ OP_DOWN, 0, 0 }, { OP_RUN, 100000, 0 }, { OP_LOOP, 0, 0 },
};
static const struct sim_op waker[] = {
	{ OP_RUN, 1300000, 0 }, { OP_MARK, 0, 0 }, { OP_UP, 0, 0 },
	{ OP_LOOP, 0, 0 },
};

static void ipi_wakes(void)
{
	struct sim_task *w;

	sim_setup(2);
	sem_init(&sim_sem[0], 0, "s");
	w = sim_spawn(waiter, "waiter", 0, 0);
	sim_spawn(waker, "waker", 1, 1);
	sim_run(2 * SEC);
	printf("  woken on a halted CPU: %lu wake-ups, from sem_up to "
	       "running %lu us on average, %lu us at worst; %lu IPIs\n",
	       (unsigned long)w->waits,
	       (unsigned long)(w->wait_sum / w->waits / 1000),
	       (unsigned long)w->wait_max / 1000,
	       (unsigned long)host_cpus[0].rq.st.kicks);
	CHECK(w->waits > 1000);
	CHECKF(w->wait_max <= 2 * sim_dt + 4 * SIM_OP_NS,
	       "%lu ns from sem_up to running", (unsigned long)w->wait_max);
	CHECK(host_cpus[0].rq.st.kicks >= w->waits);
	/* woken within a tick again and again: it keeps its full tick */
	CHECKF(host_cpus[0].rq.st.ticks >= 1900, "CPU 0 took %lu ticks",
	       (unsigned long)host_cpus[0].rq.st.ticks);
}

/* A bounded buffer of 4 slots: sem 0 free slots, sem 1 full ones,
 * mutex 0 the buffer. */
static const struct sim_op producer[] = {
	{ OP_DOWN, 0, 0 }, { OP_LOCK, 0, 0 }, { OP_RUN, 20000, 0 },
	{ OP_UNLOCK, 0, 0 }, { OP_UP, 1, 0 }, { OP_RUN, 30000, 0 },
	{ OP_LOOP, 0, 0 },
};
static const struct sim_op consumer[] = {
	{ OP_DOWN, 1, 0 }, { OP_LOCK, 0, 0 }, { OP_RUN, 20000, 0 },
	{ OP_UNLOCK, 0, 0 }, { OP_UP, 0, 0 }, { OP_RUN, 90000, 0 },
	{ OP_LOOP, 0, 0 },
};

static void bounded_buffer(void)
{
	uint64_t made = 0, used = 0, slept = 0;
	long in_flight;

	sim_setup(3);
	sem_init(&sim_sem[0], 4, "free");
	sem_init(&sim_sem[1], 0, "full");
	mutex_init(&sim_mutex[0], "buffer");
	for (int i = 0; i < 2; i++)
		sim_spawn(producer, "producer", -1, SCHED_ANY_CPU);
	for (int i = 0; i < 3; i++)
		sim_spawn(consumer, "consumer", -1, SCHED_ANY_CPU);
	sim_run(2 * SEC);
	for (int i = 0; i < 5; i++) {
		/* a task's pc says whether its current item is between
		 * its DOWN and its UP (in flight) */
		if (i < 2)
			made += sim_task[i]->loops;
		else
			used += sim_task[i]->loops;
	}
	slept = sim_sem[0].q.sleeps + sim_sem[1].q.sleeps +
		sim_mutex[0].q.sleeps;
	in_flight = 4 - sim_sem[0].count - sim_sem[1].count;
	printf("  2 producers, 3 consumers, 4 slots, 2 s: %lu made, %lu "
	       "used, %lu waits slept; %ld in flight\n",
	       (unsigned long)made, (unsigned long)used,
	       (unsigned long)slept, in_flight);
	CHECK(made > 10000 && used > 10000);
	CHECKF(made - used <= 4 + 5, "made %lu used %lu",
	       (unsigned long)made, (unsigned long)used);
	CHECK(in_flight >= 0 && in_flight <= 4);
	CHECK(slept > 100);
}

/* Four CPUs fight for one mutex: the hand-over serves them in turn. */
static const struct sim_op contender[] = {
	{ OP_LOCK, 0, 0 }, { OP_RUN, 200000, 0 }, { OP_UNLOCK, 0, 0 },
	{ OP_RUN, 50000, 0 }, { OP_LOOP, 0, 0 },
};

static void mutex_in_turn(void)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	sim_setup(4);
	mutex_init(&sim_mutex[0], "m");
	for (int i = 0; i < 4; i++)
		sim_spawn(contender, "contender", i, i);
	sim_run(2 * SEC);
	for (int i = 0; i < 4; i++) {
		lo = sim_task[i]->loops < lo ? sim_task[i]->loops : lo;
		hi = sim_task[i]->loops > hi ? sim_task[i]->loops : hi;
	}
	printf("  4 CPUs, one mutex held 200 us at a time: %lu to %lu "
	       "acquisitions each, %lu slept\n", (unsigned long)lo,
	       (unsigned long)hi,
	       (unsigned long)sim_mutex[0].q.sleeps);
	CHECK(lo > 2000);
	CHECKF(hi - lo <= 1, "%lu to %lu", (unsigned long)lo,
	       (unsigned long)hi);
}

static const struct sim_op tourist[] = {
	{ OP_PIN, 1, 0 }, { OP_RUN, 300000, 0 }, { OP_PIN, 2, 0 },
	{ OP_RUN, 300000, 0 }, { OP_PIN, 0, 0 }, { OP_RUN, 300000, 0 },
	{ OP_LOOP, 0, 100 }, { OP_PIN, (uint64_t)SCHED_ANY_CPU, 0 },
	{ OP_EXIT, 0, 0 },
};

static void affinity_moves(void)
{
	struct sim_task *t;

	sim_setup(3);
	t = sim_spawn(tourist, "tourist", 0, SCHED_ANY_CPU);
	sim_spawn(hog, "hog", 1, 1);
	sim_run(2 * SEC);
	printf("  a context pinned to CPU 1, 2, 0 in turn, 100 times: "
	       "%lu moves, ran on mask %#lx, exited %s\n",
	       (unsigned long)t->se.migrations,
	       (unsigned long)t->cpus_seen, t->exited ? "yes" : "no");
	CHECK(t->exited);
	CHECK(t->se.migrations == 300);
	CHECK(t->cpus_seen == 7);
}

/* Sixteen CPUs: 48 CPU-bound contexts started on CPU 0, 16 sleepers
 * anywhere. */
static void sixteen_cpus(void)
{
	uint64_t lo, hi, late = 0, moves = 0;
	double r;

	sim_setup(16);
	for (int i = 0; i < 48; i++)
		sim_spawn(hog, "hog", 0, SCHED_ANY_CPU);
	for (int i = 0; i < 16; i++)
		sim_spawn(sleeper10, "sleeper", -1, SCHED_ANY_CPU);
	sim_run(4 * SEC);
	r = share_ratio(0, 48, &lo, &hi);
	for (int i = 48; i < 64; i++)
		late = sim_task[i]->late_max > late ? sim_task[i]->late_max
						    : late;
	for (unsigned k = 0; k < 16; k++)
		moves += host_cpus[k].rq.st.steals;
	printf("  16 CPUs, 48 CPU-bound started on CPU 0 and 16 sleepers, "
	       "4 s: max/min CPU time %.3f, %lu moves, sleepers late %lu "
	       "ms at worst\n", r, (unsigned long)moves,
	       (unsigned long)(late / MS));
	cpu_figures(4 * SEC);
	CHECKF(r <= 1.2, "max/min %.3f", r);
	for (unsigned k = 0; k < 16; k++)
		CHECKF(idle_pct(k, 4 * SEC) < 2, "cpu%u idle %.2f%%", k,
		       idle_pct(k, 4 * SEC));
}

/* Five on four: two share a CPU for good (balance.c says why). */
static void five_on_four(void)
{
	uint64_t lo, hi;
	double r = hogs(4, 5, 4 * SEC, &lo, &hi);

	printf("  5 on 4 CPUs, 4 s: CPU time %.2f to %.2f s (max/min "
	       "%.2f): two share one CPU, by design of load balancing\n",
	       lo / 1e9, hi / 1e9, r);
	CHECK(lo >= 4 * SEC * 45 / 100);
}

/* The same workload twice: the same figures, to the nanosecond. */
static void deterministic(void)
{
	uint64_t first[8];

	for (int run = 0; run < 2; run++) {
		sim_setup(4);
		for (int i = 0; i < 6; i++)
			sim_spawn(i % 2 ? hog : sleeper10, "t", 0,
				  SCHED_ANY_CPU);
		sim_run(SEC);
		for (int i = 0; i < 6; i++) {
			if (run == 0)
				first[i] = sim_task[i]->se.runtime;
			else
				CHECKF(first[i] == sim_task[i]->se.runtime,
				       "task %d: %lu then %lu ns", i,
				       (unsigned long)first[i],
				       (unsigned long)sim_task[i]->se.runtime);
		}
	}
}

int main(void)
{
	report = getenv("SIM_REPORT") != NULL;
	RUN(fair_equal);
	RUN(spread_from_cpu0);
	RUN(pinned_stay);
	RUN(sleepers_on_time);
	RUN(slices);
	RUN(preempt_off);
	RUN(idle_halts);
	RUN(slow_idle_told);
	RUN(ipi_wakes);
	RUN(bounded_buffer);
	RUN(mutex_in_turn);
	RUN(affinity_moves);
	RUN(sixteen_cpus);
	RUN(five_on_four);
	RUN(deterministic);
	return check_done("test_sim");
}
