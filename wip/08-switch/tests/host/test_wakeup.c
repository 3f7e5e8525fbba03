/*
 * test_wakeup.c: the scheduler's real code (runqueue.c, sched.c,
 * balance.c, wait.c) on host threads standing in for CPUs and
 * contexts (thread_env.h): the hunt for lost wake-ups, the mutex and
 * semaphore under preemption, join, moves between CPUs, stealing,
 * sleeping, and the checks that must panic.
 *
 * Built three times by the Makefile:
 * - test_wakeup: every case must pass;
 * - test_wakeup_broken, with -DSCHED_BROKEN_WAIT (wait.c looks before
 *   it sleeps, without the lock): the hunt must find a lost wake-up;
 * - test_oncpu_broken, with -DSCHED_BROKEN_ONCPU (a thief may take a
 *   context whose registers are still being saved): the stress of
 *   yields and steals must see a context switched to twice.
 *
 * Each case runs a "world" in a child process: CPUs and contexts are
 * its threads, and it ends with a WORLD_* code. HUNT_ROUNDS (in the
 * environment) scales the hunt: rounds per pair, default 250,000.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void host_window(const char *where);
#define SCHED_TEST_WINDOW(where) host_window(where)

#include "check.h"
#include "format.c"
#include "../../kernel/runqueue.c"
#include "../../kernel/sched.c"
#include "../../kernel/balance.c"
#include "../../kernel/wait.c"
#include "host_cpu.h"
#include "thread_env.h"

/* Widen a race window now and then: a short spin, seldom a host
 * yield, so that the other side of the race gets in. */
static __thread uint64_t window_rng = 0x9E3779B97F4A7C15ull;

static void host_window(const char *where)
{
	(void)where;
	window_rng ^= window_rng << 13;
	window_rng ^= window_rng >> 7;
	window_rng ^= window_rng << 17;
	if ((window_rng & 7) == 0)
		for (unsigned n = (window_rng >> 8) & 1023; n; n--)
			__builtin_ia32_pause();
	if ((window_rng >> 20 & 1023) == 0)
		sched_yield();                  /* the host's */
}

static volatile int world_done;

static long rounds_per_pair(void)
{
	const char *e = getenv("HUNT_ROUNDS");

	return e ? atol(e) : 250000;
}

/* ---- The hunt: ping-pong through semaphores ---- */

struct pair {
	struct semaphore to_ping, to_pong;
	long rounds;
};

static long ping(void *arg)
{
	struct pair *p = arg;

	for (long i = 0; i < p->rounds; i++) {
		sem_up(&p->to_pong);
		sem_down(&p->to_ping);
		__atomic_fetch_add(&host_progress, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

static long pong(void *arg)
{
	struct pair *p = arg;

	for (long i = 0; i < p->rounds; i++) {
		sem_down(&p->to_pong);
		sem_up(&p->to_ping);
	}
	return 0;
}

#define MAX_PAIRS 4

static uint64_t total(uint64_t (*get)(const struct sched_cpu_stats *))
{
	uint64_t n = 0;

	for (unsigned i = 0; i < host_ncpus; i++) {
		struct sched_cpu_stats s;

		if (sched_cpu_stats(i, &s))
			n += get(&s);
	}
	return n;
}

static uint64_t get_raced(const struct sched_cpu_stats *s)
{
	return s->raced;
}

static uint64_t get_kicks(const struct sched_cpu_stats *s)
{
	return s->kicks;
}

static uint64_t get_steals(const struct sched_cpu_stats *s)
{
	return s->steals;
}

static uint64_t get_switches(const struct sched_cpu_stats *s)
{
	return s->switches;
}

static __attribute__((unused)) uint64_t get_preemptions(const struct sched_cpu_stats *s)
{
	return s->preemptions;
}

/* host_watch returns when world_done is set; a helper thread sets it
 * once every context has been joined. */
struct joiner_arg {
	struct host_ctx **ctx;
	int n;
};

static void *join_all(void *arg)
{
	struct joiner_arg *j = arg;

	for (int i = 0; i < j->n; i++)
		host_join(j->ctx[i]);
	world_done = 1;
	return NULL;
}

/*
 * Start the contexts' joiner, watch, report. The joiner polls (it is
 * not a context), so the world's main thread stays free to watch.
 */
static int run_and_watch(struct host_ctx **ctx, int n, int stall_s)
{
	static struct joiner_arg j;
	pthread_t t;
	int code;

	j = (struct joiner_arg){ ctx, n };
	pthread_create(&t, NULL, join_all, &j);
	code = host_watch(&world_done, stall_s, ctx, n);
	if (code != WORLD_OK)
		return code;
	pthread_join(t, NULL);
	host_cpus_stop();
	return WORLD_OK;
}

static int hunt_world(unsigned ncpus, int npairs, bool pinned)
{
	static struct pair pairs[MAX_PAIRS];
	struct host_ctx *ctx[2 * MAX_PAIRS];
	long rounds = rounds_per_pair();
	uint64_t sleeps = 0, t0, ns;
	int code;

	host_cpus_start(ncpus);
	t0 = host_now_ns();
	for (int i = 0; i < npairs; i++) {
		sem_init(&pairs[i].to_ping, 0, "to_ping");
		sem_init(&pairs[i].to_pong, 0, "to_pong");
		pairs[i].rounds = rounds;
		ctx[2 * i] = host_spawn(ping, &pairs[i], "ping", -1,
					pinned ? 0 : SCHED_ANY_CPU);
		ctx[2 * i + 1] = host_spawn(pong, &pairs[i], "pong", -1,
					    pinned ? 1 : SCHED_ANY_CPU);
	}
	code = run_and_watch(ctx, 2 * npairs, 3);
	if (code != WORLD_OK)
		return code;
	ns = host_now_ns() - t0;
	for (int i = 0; i < npairs; i++)
		sleeps += pairs[i].to_ping.q.sleeps +
			  pairs[i].to_pong.q.sleeps;
	printf("  %ld waits, %lu slept and were woken, %lu woken before "
	       "switching away, %lu IPIs; 0 lost; %.1f s, %.2f us/wait\n",
	       2 * rounds * npairs, (unsigned long)sleeps,
	       (unsigned long)total(get_raced),
	       (unsigned long)total(get_kicks), ns / 1e9,
	       ns / 1e3 / (2.0 * rounds * npairs));
	for (int i = 0; i < npairs; i++)
		if (pairs[i].to_ping.count || pairs[i].to_pong.count ||
		    pairs[i].to_ping.q.nr || pairs[i].to_pong.q.nr)
			return WORLD_FAILED;
	return WORLD_OK;
}

static int world_hunt_pinned(void)
{
	return hunt_world(2, 2, true);
}

static int world_hunt_free(void)
{
	return hunt_world(3, 3, false);
}

/* ---- The hunt: a flag set without the lock, then a wake-all ---- */

struct mailbox {
	struct waitq q;
	int full;                     /* atomic */
};

static struct mailbox boxes[2];

static bool take_mail(void *arg, struct waiter *w)
{
	struct mailbox *m = arg;

	(void)w;
	return __atomic_exchange_n(&m->full, 0, __ATOMIC_SEQ_CST);
}

static void post(struct mailbox *m)
{
	__atomic_store_n(&m->full, 1, __ATOMIC_SEQ_CST);
	waitq_wake_all(&m->q);
}

static long flag_side(void *arg)
{
	long side = (long)(intptr_t)arg, rounds = rounds_per_pair();

	for (long i = 0; i < rounds; i++) {
		if (side == 0)
			post(&boxes[1]);
		waitq_wait(&boxes[side].q, take_mail, &boxes[side]);
		if (side == 1)
			post(&boxes[0]);
		__atomic_fetch_add(&host_progress, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

static int world_hunt_flag(void)
{
	struct host_ctx *ctx[2];
	int code;

	host_cpus_start(2);
	waitq_init(&boxes[0].q, "box0");
	waitq_init(&boxes[1].q, "box1");
	ctx[0] = host_spawn(flag_side, (void *)0, "side0", -1, 0);
	ctx[1] = host_spawn(flag_side, (void *)1, "side1", -1, 1);
	code = run_and_watch(ctx, 2, 3);
	if (code == WORLD_OK)
		printf("  %ld waits, %lu slept and were woken; 0 lost\n",
		       2 * rounds_per_pair(),
		       (unsigned long)(boxes[0].q.sleeps +
				       boxes[1].q.sleeps));
	return code;
}

/* ---- A stress of yields and steals (the on_cpu handshake) ---- */

static long yielder(void *arg)
{
	long n = (long)(intptr_t)arg;

	for (long i = 0; i < n; i++) {
		sched_yield_cpu();
		if (i % 16 == 0)
			sleep_ms(0);
		__atomic_fetch_add(&host_progress, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

static int world_yield_steal(void)
{
	struct host_ctx *ctx[5];
	int code;

	host_cpus_start(3);
	for (int i = 0; i < 5; i++)
		ctx[i] = host_spawn(yielder, (void *)(intptr_t)40000,
				    "yielder", 0, SCHED_ANY_CPU);
	code = run_and_watch(ctx, 5, 3);
	if (code == WORLD_OK)
		printf("  %lu switches, %lu steals, 0 contexts on two "
		       "CPUs\n", (unsigned long)total(get_switches),
		       (unsigned long)total(get_steals));
	return code;
}

int main(void)
{
#if defined(SCHED_BROKEN_WAIT)
	CASE("broken wait: the hunt finds the lost wake-up") {
		int code = host_world(world_hunt_pinned, 100);

		CHECKF(code == WORLD_STALLED, "world ended with %d, want "
		       "%d (stalled)", code, WORLD_STALLED);
	}
	return check_done("test_wakeup_broken");
#elif defined(SCHED_BROKEN_ONCPU)
	CASE("broken on_cpu: a context is switched to on two CPUs") {
		int code = host_world(world_yield_steal, 100);

		CHECKF(code == WORLD_PANIC || code == WORLD_ERROR,
		       "world ended with %d, want %d or %d", code,
		       WORLD_PANIC, WORLD_ERROR);
	}
	return check_done("test_oncpu_broken");
#else
	CASE("hunt: semaphore ping-pong, pinned pairs on 2 CPUs") {
		int code = host_world(world_hunt_pinned, 110);

		CHECKF(code == WORLD_OK, "world ended with %d", code);
	}
	CASE("hunt: semaphore ping-pong, 3 pairs free on 3 CPUs") {
		int code = host_world(world_hunt_free, 110);

		CHECKF(code == WORLD_OK, "world ended with %d", code);
	}
	CASE("hunt: flag without the lock, then wake-all") {
		int code = host_world(world_hunt_flag, 110);

		CHECKF(code == WORLD_OK, "world ended with %d", code);
	}
	CASE("yields and steals: never one context on two CPUs") {
		int code = host_world(world_yield_steal, 110);

		CHECKF(code == WORLD_OK, "world ended with %d", code);
	}
	return check_done("test_wakeup");
#endif
}
