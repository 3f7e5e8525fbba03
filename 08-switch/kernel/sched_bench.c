/*
 * sched_bench.c: the scheduler's benchmarks in the kernel, in TSC
 * cycles, ours against a re-creation of Redox 0.3.5's switching run on
 * the same CPUs (redox_world.c). tests/bench.tests boots them; the
 * README's tables come from them.
 *
 * - scenario `bench_switch` (one CPU): the cost of a switch with 10,
 *   100, 1,000 and 10,000 contexts, ours and Redox's, two ways (two
 *   contexts yielding to each other while the others wait; all of them
 *   yielding in turn), how much each grows and their ratio at 1,000;
 *   then the tick's share of the CPU and sleep_ms(1)'s wake-up latency
 *   (sched_tests.c's own checks, run again here); a verdict line.
 * - scenario `bench_locks` (every CPU): lock spins and waits per switch
 *   with 4 yielding contexts per CPU: ours (each CPU's run-queue lock)
 *   against Redox's one switch lock; a verdict line.
 *
 * Every line of figures starts with `BENCH `.
 */
#include "clock.h"
#include "context.h"
#include "frame.h"
#include "kprintf.h"
#include "ktest.h"
#include "percpu.h"
#include "redox_world.h"
#include "string.h"
#include "wait.h"
#include "x86.h"

/* sched_tests.c's checks of the tick's share and of sleep_ms's
 * lateness, which print their own BENCH lines; and the share itself,
 * in thousandths of a percent. */
const char *tick_overhead(void);
const char *sleep_accuracy(void);
extern uint64_t tick_share;

/**
 * ## What the benchmarks measure, and how
 *
 * **The cost of a switch**, in TSC cycles: the decision, then
 * switch_to() with its registers and FPU state, on one CPU, measured
 * two ways with n contexts in the system:
 *
 * - *A yield round trip*: two contexts yield to each other while the
 *   other n - 2 wait (on a semaphore that is never raised; in Redox's
 *   world, blocked). It asks what the number of contexts in the system
 *   costs each switch. Ours: nothing, since a waiting context is in no
 *   run queue. Redox's: its update pass visits every context, waiting
 *   or not, on every switch. Ours' target: at most 1.2 times the cost
 *   at 10 contexts when there are 10,000.
 * - *A ring*: all n contexts yield, each in turn. Now every switch also
 *   loads a context that last ran n switches ago: with 10,000, its
 *   stack and FPU area are out of every cache. Ours grows here too, by
 *   what the memory costs, not by its decision: no target.
 *
 * Each figure is the best of many short stretches: ours, of 250
 * windows of 200 switches in a row; Redox's, of 25 batches that each
 * visit about 2,000 contexts (at least 2 switches). A host that takes
 * the CPU away from QEMU only ever adds time, and a short stretch
 * often runs whole between two such moments, so the fastest one is
 * the one that shows the code. The sizes are measured in the order 10, 100,
 * 1,000, 10,000, 1,000, 100, 10, each keeping its better figure, so
 * that a host whose load changes during the boot does not tilt the
 * growth one way. Ours runs as it always does, with interrupts on, so
 * its figures include the ticks (under one percent, below); Redox's
 * runs with interrupts off, as its switch requires.
 *
 * **Lock spins per switch.** On every CPU, 4 contexts pinned there
 * yield until each CPU has made LOCK_SWITCHES switches. Every turn of
 * a waiting loop is a spin, and an acquisition that spun at all is a
 * wait: spinlock.c counts both for our run-queue locks, redox_sched.c
 * for Redox's switch lock (and the spins on its per-context locks).
 * With 4 or 8 virtual CPUs on this machine's two host cores, a virtual
 * CPU that holds a lock may be descheduled by the host, and every
 * other one that wants the lock spins until it runs again: the figures
 * are spins and waits per switch, not switches per second. Ours'
 * target: near 0, at most one wait in 1,000 switches.
 */
#define SIZES 4
#define MAX_CONTEXTS 10000
#define REDOX_BATCHES 25
#define REDOX_WORK 2000ull         /* contexts a batch visits, about */
#define GROWTH_TARGET 120          /* ours, 10 -> 10,000: at most 1.2x */
#define TICK_TARGET 1500           /* thousandths of a percent: 1.5 % */
#define LOCK_YIELDERS 4            /* per CPU */
#define LOCK_SWITCHES 5000         /* per CPU, at least */

static const unsigned sizes[SIZES] = { 10, 100, 1000, 10000 };
static ctx_id_t ids[MAX_CONTEXTS];

/* a / b with `decimals` decimals (at most 4), in buf (16 bytes). */
static const char *fixed(char *buf, uint64_t a, uint64_t b,
			 unsigned decimals)
{
	uint64_t scale = 1, r;

	for (unsigned i = 0; i < decimals; i++)
		scale *= 10;
	r = b ? a * scale / b : 0;
	ksnprintf(buf, 16, "%lu.%0*lu", (unsigned long)(r / scale),
		  (int)decimals, (unsigned long)(r % scale));
	return buf;
}

static const char *ratio(char *buf, uint64_t a, uint64_t b)
{
	return fixed(buf, a, b, 2);
}

static uint64_t cpu_switches(unsigned cpu)
{
	struct runqueue *rq = sched_rq(cpu);

	return rq ? __atomic_load_n(&rq->st.switches, __ATOMIC_RELAXED) : 0;
}

/* Spawn n contexts running fn pinned to cpu (EACH_CPU: the k-th to CPU
 * k), into ids[first..]; if one fails, stop(k) the k spawned, and
 * join them. */
#define EACH_CPU (~0u)

static const char *spawn_all(context_fn fn, unsigned first, unsigned n,
			     unsigned cpu, void (*stop)(unsigned))
{
	for (unsigned k = 0; k < n; k++) {
		ids[first + k] = context_spawn(fn, NULL, "bench",
					       cpu == EACH_CPU ? k : cpu);
		if (ids[first + k] <= 0) {
			long e = ids[first + k];

			stop(k);
			for (unsigned j = 0; j < k; j++)
				context_join(ids[first + j], NULL);
			return ktest_why("spawn %u of %u: %s", k, n,
					 context_strerror((int)e));
		}
	}
	return NULL;
}

static void join_all(unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		context_join(ids[k], NULL);
}

/* ---- The switch, ours ---- */

/*
 * The measurement: the contexts measured note, after each yield,
 * whether WINDOW switches have passed on their CPU since the window
 * began; if so the window closes (its cycles per switch, the best so
 * far kept) and the next one begins. WINDOWS windows, then everybody
 * stops. All on one CPU, whose contexts yield often enough never to be
 * preempted: no two of them are in the middle of a note at once.
 */
#define WINDOW 200
#define WINDOWS 250

static struct {
	volatile int stop;        /* the measurement is over */
	bool on;                  /* measuring (after the warm-up) */
	unsigned cpu;
	unsigned windows;         /* closed so far */
	uint64_t switches, t0;    /* at the open window's start */
	uint64_t best;            /* cycles per switch, the best window */
} win;

static uint64_t frames_taken;         /* by the last spawn, at most */
static struct semaphore never_up;     /* what the waiting ones wait for */
static unsigned waiting;              /* atomic: of them, how many */

static void window_start(unsigned cpu)
{
	win.cpu = cpu;
	win.windows = 0;
	win.best = ~0ull;
	win.switches = cpu_switches(cpu);
	win.t0 = rdtsc();
	win.on = true;
}

static void window_note(void)
{
	uint64_t sw = cpu_switches(win.cpu), t;

	if (!win.on || sw - win.switches < WINDOW)
		return;
	t = rdtsc();
	if ((t - win.t0) / (sw - win.switches) < win.best)
		win.best = (t - win.t0) / (sw - win.switches);
	win.switches = sw;
	win.t0 = t;
	if (++win.windows == WINDOWS)
		win.stop = 1;
}

static void stop_measured(unsigned spawned)
{
	(void)spawned;
	win.stop = 1;
}

/* Let the waiters go: one up each, whether it is waiting yet or not. */
static void release_waiters(unsigned spawned)
{
	for (unsigned k = 0; k < spawned; k++)
		sem_up(&never_up);
}

static long measured_yielder(void *unused)
{
	(void)unused;
	while (!win.stop) {
		sched_yield_cpu();
		window_note();
	}
	return 0;
}

static long waiter(void *unused)
{
	(void)unused;
	__atomic_fetch_add(&waiting, 1, __ATOMIC_SEQ_CST);
	sem_down(&never_up);
	return 0;
}

/* Ring: n yielders and this context take turns. Pair: two contexts
 * yield to each other while n - 2 wait on a semaphore (this context
 * waits in a join). Cycles per switch; 0 with *why set if spawning
 * failed. */
static uint64_t ours_per_switch(unsigned n, bool pair, const char **why)
{
	unsigned cpu = sched_cpu();
	unsigned measured = pair ? 2 : n;
	uint64_t before = frame_free_count();

	waiting = 0;
	win.stop = 0;
	win.on = false;
	if (pair) {
		sem_init(&never_up, 0, "never up");
		if ((*why = spawn_all(waiter, 0, n - 2, cpu, release_waiters)))
			return 0;
		while (__atomic_load_n(&waiting, __ATOMIC_SEQ_CST) < n - 2)
			sched_yield_cpu();
		sched_yield_cpu();         /* the last one has blocked */
		window_start(cpu);         /* the two: from their start */
	}
	if ((*why = spawn_all(measured_yielder, n - measured, measured, cpu,
			      stop_measured))) {
		release_waiters(n - measured);
		join_all(n - measured);
		return 0;
	}
	frames_taken = before - frame_free_count();
	if (!pair) {
		sched_yield_cpu();         /* every one has run once */
		window_start(cpu);
		while (!win.stop)          /* this one takes turns too */
			sched_yield_cpu();
	}
	for (unsigned k = n - measured; k < n; k++)
		context_join(ids[k], NULL);
	release_waiters(n - measured);
	join_all(n - measured);
	return win.best;
}

/* ---- The switch, Redox's ---- */

/* The same two cases in a world of n contexts besides the driver, its
 * idle context (which takes its turn, as Redox's idle context does). */
static uint64_t redox_per_switch(unsigned n, bool pair, const char **why)
{
	uint64_t s = REDOX_WORK / n < 2 ? 2 : REDOX_WORK / n, best = ~0ull;

	if (redox_world_init(1, n, pair ? 2 : n, false) != 0) {
		*why = ktest_why("no memory for %u of Redox's contexts", n);
		return 0;
	}
	redox_world_batch(s);              /* the first switches */
	for (unsigned b = 0; b < REDOX_BATCHES; b++) {
		uint64_t t = redox_world_batch(s) / s;

		best = t < best ? t : best;
	}
	redox_world_free();
	return best;
}

/* One table: a line per size; returns ours' growth from 10 to 10,000
 * contexts, in hundredths (0: *why is set). */
static uint64_t switch_table(bool pair, const char **why)
{
	const char *what = pair ? "switch" : "ring";
	uint64_t ours[SIZES] = { 0 }, redox[SIZES] = { 0 };
	char a[16];

	kprintf(pair ? "BENCH switch: a yield round trip of 2 contexts, the "
		       "others waiting\n" :
		       "BENCH ring: all the contexts yield, in turn\n");
	for (unsigned k = 0; k < 2 * SIZES - 1; k++) {
		unsigned i = k < SIZES ? k : 2 * SIZES - 2 - k;
		uint64_t o = ours_per_switch(sizes[i], pair, why), r;

		if (*why)
			return 0;
		if (!pair && sizes[i] == MAX_CONTEXTS)
			kprintf("BENCH ring: %u contexts of ours took %lu MiB "
				"(stacks, page tables, heap)\n", MAX_CONTEXTS,
				(unsigned long)(frames_taken >> 8));
		r = redox_per_switch(sizes[i], pair, why);
		if (*why)
			return 0;
		ours[i] = ours[i] && ours[i] < o ? ours[i] : o;
		redox[i] = redox[i] && redox[i] < r ? redox[i] : r;
	}
	for (unsigned i = 0; i < SIZES; i++)
		kprintf("BENCH %s %5u contexts: ours %5lu, Redox 0.3.5 %8lu "
			"(%sx)\n", what, sizes[i], (unsigned long)ours[i],
			(unsigned long)redox[i], ratio(a, redox[i], ours[i]));
	if (pair)
		kprintf("BENCH switch ours 10->10000: %sx (target 1.2x: %s)\n",
			ratio(a, ours[SIZES - 1], ours[0]),
			ours[SIZES - 1] * 100 <= GROWTH_TARGET * ours[0] ?
			"met" : "missed");
	else
		kprintf("BENCH ring ours 10->10000: %sx (no target: the "
			"memory's growth)\n",
			ratio(a, ours[SIZES - 1], ours[0]));
	kprintf("BENCH %s Redox 0.3.5 10->10000: %sx\n", what,
		ratio(a, redox[SIZES - 1], redox[0]));
	kprintf("BENCH %s Redox/ours at 1000 contexts: %sx\n", what,
		ratio(a, redox[2], ours[2]));
	return ours[0] ? ours[SIZES - 1] * 100 / ours[0] : 0;
}

static long switch_driver(void *unused)
{
	const char *why = NULL, *e;
	uint64_t growth;
	char g[16], t[16];

	(void)unused;
	kprintf("BENCH TSC cycles per switch on CPU %u, the best of %u "
		"windows of %u switches (Redox's: of %u batches)\n",
		sched_cpu(), WINDOWS, WINDOW, REDOX_BATCHES);
	growth = switch_table(true, &why);
	if (!why)
		switch_table(false, &why);
	ktest_report("bench_switch", why);
	if (why)
		return 1;
	e = tick_overhead();
	ktest_report("tick_overhead", e);
	ktest_report("sleep_accuracy", sleep_accuracy());
	ksnprintf(t, sizeof t, "%lu.%03lu", (unsigned long)(tick_share / 1000),
		  (unsigned long)(tick_share % 1000));
	kprintf("BENCH verdict: switch growth %sx (target 1.2x: %s), tick "
		"handler %s%% (target 1.5%%: %s)\n", ratio(g, growth, 100),
		growth <= GROWTH_TARGET ? "met" : "missed", t,
		!e && tick_share < TICK_TARGET ? "met" : "missed");
	return 0;
}

SCENARIO(bench_switch, "switch cost, 10 to 10,000 contexts, ours and "
	 "Redox's; the tick; sleep_ms(1)")
{
	sched_tick_start_all();
	context_run_here(switch_driver, NULL, "bench", NULL);
}

/* ---- Lock spins: ours ---- */

/* What one design did on all CPUs together. */
struct lock_figures {
	uint64_t spins, waits, switches;   /* waits: acquisitions that
					      spun at all */
	uint64_t cycles;                   /* per switch, the CPUs' mean */
};

static struct lock_cpu {
	uint64_t count, t0, t1;
} __attribute__((aligned(64))) lock_cpu[REDOX_WORLD_CPUS];
static volatile int locks_go, locks_stop;
static unsigned locks_reached;       /* atomic: CPUs at the goal */

static void stop_lockers(unsigned spawned)
{
	(void)spawned;
	locks_go = locks_stop = 1;
}

static long lock_yielder(void *unused)
{
	struct lock_cpu *lc = &lock_cpu[sched_cpu()];     /* pinned */

	(void)unused;
	while (!locks_go)
		sched_yield_cpu();
	while (!locks_stop) {
		uint64_t n;

		sched_yield_cpu();
		n = __atomic_add_fetch(&lc->count, 1, __ATOMIC_RELAXED);
		if (n == 1)
			lc->t0 = rdtsc();
		if (n == LOCK_SWITCHES) {
			lc->t1 = rdtsc();
			__atomic_fetch_add(&locks_reached, 1, __ATOMIC_SEQ_CST);
		}
	}
	return 0;
}

/* Every run-queue lock's counters, and every CPU's switches: read
 * without the locks, which would disturb what they count. */
static struct lock_figures rq_sums(unsigned ncpu)
{
	struct lock_figures f = { 0 };

	for (unsigned i = 0; i < ncpu; i++) {
		struct runqueue *rq = sched_rq(i);

		f.spins += __atomic_load_n(&rq->lock.spins, __ATOMIC_RELAXED);
		f.waits += __atomic_load_n(&rq->lock.contended,
					   __ATOMIC_RELAXED);
		f.switches += cpu_switches(i);
	}
	return f;
}

/* Ours: LOCK_YIELDERS pinned yielders per CPU, until every CPU has made
 * LOCK_SWITCHES switches; the run-queue locks' counters over that
 * time. *why set on failure. */
static struct lock_figures ours_locks(unsigned ncpu, const char **why)
{
	struct lock_figures s0, f = { 0 };

	memset(lock_cpu, 0, sizeof lock_cpu);
	locks_go = locks_stop = 0;
	locks_reached = 0;
	for (unsigned c = 0; c < ncpu; c++)
		if ((*why = spawn_all(lock_yielder, c * LOCK_YIELDERS,
				      LOCK_YIELDERS, c, stop_lockers))) {
			join_all(c * LOCK_YIELDERS);   /* the CPUs before */
			return f;
		}
	s0 = rq_sums(ncpu);
	locks_go = 1;
	for (unsigned ms = 0; __atomic_load_n(&locks_reached,
					      __ATOMIC_SEQ_CST) < ncpu; ms++) {
		if (ms == 15000) {
			*why = ktest_why("our CPUs made too few switches in "
					 "15 s");
			break;
		}
		sleep_ms(1);
	}
	f = rq_sums(ncpu);
	locks_stop = 1;
	join_all(ncpu * LOCK_YIELDERS);
	f.spins -= s0.spins;
	f.waits -= s0.waits;
	f.switches -= s0.switches;
	for (unsigned c = 0; c < ncpu; c++)
		f.cycles += (lock_cpu[c].t1 - lock_cpu[c].t0) /
			    (LOCK_SWITCHES - 1) / ncpu;
	return f;
}

/* ---- Lock spins: Redox's ---- */

static unsigned drivers_in, drivers_out;   /* atomic: barriers */
static uint64_t driver_ticks[REDOX_WORLD_CPUS];
static unsigned n_drivers;
static volatile int drivers_abort;

/* true once every driver is here; false if the start was called off. */
static bool wait_for_all(unsigned *count)
{
	__atomic_fetch_add(count, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(count, __ATOMIC_SEQ_CST) < n_drivers &&
	       !drivers_abort)
		sched_yield_cpu();
	return !drivers_abort;
}

/* A CPU's driver: all start together, and none leaves before the last
 * one's batch is over (a CPU that leaves could free a stack, whose
 * shootdown would wait for CPUs with interrupts off). */
static long world_driver(void *unused)
{
	(void)unused;
	if (!wait_for_all(&drivers_in))
		return 0;
	driver_ticks[sched_cpu()] = redox_world_batch(LOCK_SWITCHES);
	wait_for_all(&drivers_out);
	return 0;
}

static void abort_drivers(unsigned spawned)
{
	(void)spawned;
	drivers_abort = 1;
}

/* Redox's: the same, in a world of LOCK_YIELDERS contexts per CPU and
 * a driver on each CPU. */
static struct lock_figures redox_locks(unsigned ncpu, const char **why)
{
	struct lock_figures f = { 0 };

	if (redox_world_init(ncpu, LOCK_YIELDERS, LOCK_YIELDERS, true) != 0) {
		*why = ktest_why("no memory for Redox's contexts");
		return f;
	}
	drivers_in = drivers_out = 0;
	drivers_abort = 0;
	n_drivers = ncpu;
	*why = spawn_all(world_driver, 0, ncpu, EACH_CPU, abort_drivers);
	if (!*why)
		join_all(ncpu);
	for (unsigned i = 0; i < ncpu && !*why; i++) {
		struct redox_cpu rc = redox_world_stats(i);

		f.spins += rc.lock_spins + rc.ctx_spins;
		f.waits += rc.lock_waits;
		f.switches += rc.switches;
		f.cycles += driver_ticks[i] / LOCK_SWITCHES / ncpu;
	}
	redox_world_free();
	return f;
}

static void print_figures(const char *who, const struct lock_figures *f)
{
	char s[16], w[16];

	kprintf("BENCH locks %s: %s spins/switch, %s waits/switch (%lu of "
		"%lu), %lu cycles/switch\n", who,
		fixed(s, f->spins, f->switches, 3),
		fixed(w, f->waits, f->switches, 4),
		(unsigned long)f->waits, (unsigned long)f->switches,
		(unsigned long)f->cycles);
}

static long locks_driver(void *unused)
{
	unsigned ncpu = cpu_count();
	struct lock_figures ours, redox;
	const char *why = NULL;
	char a[16], b[16], c[16];

	(void)unused;
	for (unsigned i = 0; i < ncpu; i++)
		if (cpu_get(i)->state != CPU_ONLINE)
			why = ktest_why("CPU %u is not online", i);
	if (ncpu > REDOX_WORLD_CPUS)
		why = ktest_why("%u CPUs: at most %u", ncpu, REDOX_WORLD_CPUS);
	if (!why)
		kprintf("BENCH locks on %u CPU%s: %u yielding contexts per "
			"CPU, until each CPU has made %u switches\n", ncpu,
			ncpu == 1 ? "" : "s", LOCK_YIELDERS, LOCK_SWITCHES);
	if (!why)
		ours = ours_locks(ncpu, &why);
	if (!why)
		redox = redox_locks(ncpu, &why);
	ktest_report("bench_locks", why);
	if (why)
		return 1;
	print_figures("ours", &ours);
	print_figures("Redox 0.3.5", &redox);
	kprintf("BENCH verdict: locks on %u CPU%s: ours %s waits/switch "
		"(target near 0, at most 0.001: %s); spins/switch ours %s, "
		"the global lock's %s\n", ncpu, ncpu == 1 ? "" : "s",
		fixed(a, ours.waits, ours.switches, 4),
		ours.waits * 1000 <= ours.switches ? "met" : "missed",
		fixed(b, ours.spins, ours.switches, 3),
		fixed(c, redox.spins, redox.switches, 3));
	return 0;
}

SCENARIO(bench_locks, "lock spins per switch on every CPU, ours and "
	 "Redox's global lock")
{
	sched_tick_start_all();
	context_run_here(locks_driver, NULL, "bench", NULL);
}
