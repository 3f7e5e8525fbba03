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
 *   context whose registers are still being saved, and sched_next's
 *   check of that is left out too): the stress of yields and steals
 *   must see a context handed to a CPU while it runs on another.
 *
 * Each case runs a "world" in a child process: CPUs and contexts are
 * its threads, and it ends with a WORLD_* code. HUNT_ROUNDS (in the
 * environment) scales the hunt: rounds per pair, default 25,000
 * (half that for the pinned pairs, whose every wait halts a CPU):
 * 250,000 waits over the three hunts, in about 20 s here (the suite
 * runs it; HUNT_ROUNDS=100000 for the million of the longer hunt).
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

	return e ? atol(e) : 25000;
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

static __attribute__((unused)) uint64_t
get_preemptions(const struct sched_cpu_stats *s)
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
		pairs[i].rounds = pinned ? rounds / 2 : rounds;
		ctx[2 * i] = host_spawn(ping, &pairs[i], "ping", -1,
					pinned ? 0 : SCHED_ANY_CPU);
		ctx[2 * i + 1] = host_spawn(pong, &pairs[i], "pong", -1,
					    pinned ? 1 : SCHED_ANY_CPU);
	}
	code = run_and_watch(ctx, 2 * npairs, 8);
	if (code != WORLD_OK)
		return code;
	ns = host_now_ns() - t0;
	for (int i = 0; i < npairs; i++)
		sleeps += pairs[i].to_ping.q.sleeps +
			  pairs[i].to_pong.q.sleeps;
	rounds = pairs[0].rounds;
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

static __attribute__((unused)) int world_hunt_pinned(void)
{
	return hunt_world(2, 2, true);
}

static __attribute__((unused)) int world_hunt_free(void)
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

static __attribute__((unused)) int world_hunt_flag(void)
{
	struct host_ctx *ctx[2];
	int code;

	host_cpus_start(2);
	waitq_init(&boxes[0].q, "box0");
	waitq_init(&boxes[1].q, "box1");
	ctx[0] = host_spawn(flag_side, (void *)0, "side0", -1, 0);
	ctx[1] = host_spawn(flag_side, (void *)1, "side1", -1, 1);
	code = run_and_watch(ctx, 2, 8);
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
		if (i % 64 == 63)
			sleep_ms(1);
		__atomic_fetch_add(&host_progress, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

static __attribute__((unused)) int world_yield_steal(void)
{
	struct host_ctx *ctx[5];
	int code;

	host_cpus_start(3);
	for (int i = 0; i < 5; i++)
		ctx[i] = host_spawn(yielder, (void *)(intptr_t)40000,
				    "yielder", 0, SCHED_ANY_CPU);
	code = run_and_watch(ctx, 5, 8);
	if (code == WORLD_OK)
		printf("  %lu switches, %lu steals, 0 contexts on two "
		       "CPUs\n", (unsigned long)total(get_switches),
		       (unsigned long)total(get_steals));
	return code;
}

/* ---- The mutex and a spinlock, with preemption ---- */

#define STRESS_CTX 6
#define SPIN_ADDS 100000
#define MUTEX_ADDS 10000

static struct spinlock counter_lock = SPINLOCK_INIT("counter");
static struct mutex counter_mutex;
static long spin_counter, mutex_counter;

static long adder(void *arg)
{
	uint64_t until = host_now_ns() + 60000000;   /* 60 ms: six slices */

	(void)arg;
	while (host_now_ns() < until)               /* CPU-bound first */
		host_preempt_point();
	for (long i = 0; i < SPIN_ADDS; i++) {
		spin_lock(&counter_lock);
		spin_counter++;
		spin_unlock(&counter_lock);
		if (i % 10 == 0) {
			mutex_lock(&counter_mutex);
			if (!mutex_held(&counter_mutex))
				host_error("mutex not held by its owner");
			mutex_counter++;
			host_preempt_point();    /* preemptible inside */
			mutex_unlock(&counter_mutex);
		}
		host_preempt_point();
		__atomic_fetch_add(&host_progress, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

static __attribute__((unused)) int world_stress(void)
{
	struct host_ctx *ctx[STRESS_CTX];
	int code;

	mutex_init(&counter_mutex, "counter");
	host_cpus_start(3);
	for (int i = 0; i < STRESS_CTX; i++)
		ctx[i] = host_spawn(adder, NULL, "adder", -1,
				    SCHED_ANY_CPU);
	code = run_and_watch(ctx, STRESS_CTX, 8);
	if (code != WORLD_OK)
		return code;
	printf("  spinlock total %ld, mutex total %ld (want %d, %d); "
	       "mutex slept %lu of %lu times; %lu preemptions\n",
	       spin_counter, mutex_counter, STRESS_CTX * SPIN_ADDS,
	       STRESS_CTX * MUTEX_ADDS,
	       (unsigned long)counter_mutex.contended,
	       (unsigned long)counter_mutex.acquired,
	       (unsigned long)total(get_preemptions));
	return spin_counter == STRESS_CTX * SPIN_ADDS &&
	       mutex_counter == STRESS_CTX * MUTEX_ADDS &&
	       counter_mutex.owner == NULL && counter_mutex.q.nr == 0 &&
	       total(get_preemptions) > 0 ? WORLD_OK : WORLD_FAILED;
}

/* ---- A bounded buffer: two semaphores and a mutex ---- */

#define SLOTS 8
#define ITEMS 20000

static struct semaphore free_slots, full_slots;
static struct mutex buffer_lock;
static long buffer[SLOTS], head, tail, consumed_sum;

static long producer(void *arg)
{
	long base = (long)(intptr_t)arg;

	for (long i = 1; i <= ITEMS; i++) {
		sem_down(&free_slots);
		mutex_lock(&buffer_lock);
		buffer[head++ % SLOTS] = base + i;
		mutex_unlock(&buffer_lock);
		sem_up(&full_slots);
		__atomic_fetch_add(&host_progress, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

static long consumer(void *arg)
{
	long sum = 0;

	(void)arg;
	for (long i = 0; i < ITEMS; i++) {
		sem_down(&full_slots);
		mutex_lock(&buffer_lock);
		sum += buffer[tail++ % SLOTS];
		mutex_unlock(&buffer_lock);
		sem_up(&free_slots);
	}
	__atomic_fetch_add(&consumed_sum, sum, __ATOMIC_SEQ_CST);
	return 0;
}

static __attribute__((unused)) int world_buffer(void)
{
	struct host_ctx *ctx[4];
	long want = 0;
	int code;

	sem_init(&free_slots, SLOTS, "free");
	sem_init(&full_slots, 0, "full");
	mutex_init(&buffer_lock, "buffer");
	host_cpus_start(3);
	ctx[0] = host_spawn(producer, (void *)0, "producer", -1, -1);
	ctx[1] = host_spawn(producer, (void *)1000000, "producer", -1, -1);
	ctx[2] = host_spawn(consumer, NULL, "consumer", -1, -1);
	ctx[3] = host_spawn(consumer, NULL, "consumer", -1, -1);
	code = run_and_watch(ctx, 4, 8);
	if (code != WORLD_OK)
		return code;
	for (long i = 1; i <= ITEMS; i++)
		want += 2 * i + 1000000;
	printf("  %d items through %d slots: sum %ld (want %ld); free %ld,"
	       " full %ld; %lu + %lu waits slept\n", 2 * ITEMS, SLOTS,
	       consumed_sum, want, free_slots.count, full_slots.count,
	       (unsigned long)free_slots.q.sleeps,
	       (unsigned long)full_slots.q.sleeps);
	return consumed_sum == want && free_slots.count == SLOTS &&
	       full_slots.count == 0 ? WORLD_OK : WORLD_FAILED;
}

/* ---- Join: a driver context spawns and joins many ---- */

#define JOIN_N 192

static long child(void *arg)
{
	long i = (long)(intptr_t)arg;

	if (i % 3 == 0)
		sleep_ms(1);
	else if (i % 3 == 1)
		sched_yield_cpu();
	return i * 3 + 1;
}

static long join_driver(void *arg)
{
	struct host_ctx *kids[16];
	long bad = 0;

	(void)arg;
	for (int round = 0; round < JOIN_N / 16; round++) {
		for (int k = 0; k < 16; k++) {
			long i = round * 16 + k;

			kids[k] = host_spawn(child, (void *)(intptr_t)i,
					     "child", k % 4 == 0 ? 1 : -1,
					     k % 5 == 0 ? 2 : SCHED_ANY_CPU);
		}
		for (int k = 15; k >= 0; k--)
			bad += host_join(kids[k]) != (round * 16 + k) * 3 + 1;
		__atomic_fetch_add(&host_progress, 1, __ATOMIC_RELAXED);
	}
	return bad;
}

static __attribute__((unused)) int world_join(void)
{
	struct host_ctx *driver;
	long bad;

	host_cpus_start(3);
	driver = host_spawn(join_driver, NULL, "driver", 0, SCHED_ANY_CPU);
	while (!__atomic_load_n(&driver->done, __ATOMIC_SEQ_CST))
		usleep(1000);
	bad = driver->result;
	host_join(driver);
	host_cpus_stop();
	printf("  %d contexts spawned, joined in reverse order, %ld wrong "
	       "results, %ld left\n", JOIN_N / 16 * 16, bad, host_live);
	return bad == 0 && host_live == 0 ? WORLD_OK : WORLD_FAILED;
}

/* ---- Moving: contexts hop between CPUs by affinity ---- */

#define HOPS 3000

static long hopper(void *arg)
{
	long k = (long)(intptr_t)arg, wrong = 0;

	for (long i = 0; i < HOPS; i++) {
		int to = (int)((i + k) % 3);

		sched_set_affinity(to);
		wrong += sched_cpu() != (unsigned)to;
		if (i % 7 == 0)
			sched_yield_cpu();
		__atomic_fetch_add(&host_progress, 1, __ATOMIC_RELAXED);
	}
	sched_set_affinity(SCHED_ANY_CPU);
	return wrong;
}

static __attribute__((unused)) int world_migrate(void)
{
	struct host_ctx *ctx[4];
	uint64_t moves = 0;
	long wrong = 0;

	host_cpus_start(3);
	for (int i = 0; i < 4; i++)
		ctx[i] = host_spawn(hopper, (void *)(intptr_t)i, "hopper",
				    -1, SCHED_ANY_CPU);
	for (int i = 0; i < 4; i++) {
		while (!__atomic_load_n(&ctx[i]->done, __ATOMIC_SEQ_CST))
			usleep(1000);
		wrong += ctx[i]->result;
		moves += ctx[i]->se.migrations;
		host_join(ctx[i]);
	}
	host_cpus_stop();
	printf("  %lu moves between 3 CPUs, %ld found on the wrong CPU\n",
	       (unsigned long)moves, wrong);
	return wrong == 0 && moves >= 4 * HOPS * 2 / 3 ? WORLD_OK
						       : WORLD_FAILED;
}

/* ---- Stealing and pinning, with CPU-bound contexts ---- */

static long hog(void *arg)
{
	uint64_t until = host_now_ns() + (uint64_t)(intptr_t)arg * 1000000;

	while (host_now_ns() < until) {
		for (volatile int i = 0; i < 1000; i++)
			;
		host_preempt_point();
		__atomic_fetch_add(&host_progress, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

static __attribute__((unused)) int world_steal(void)
{
	struct host_ctx *ctx[8];
	uint64_t seen = 0, pinned_seen = 0;
	int code;

	host_cpus_start(3);
	for (int i = 0; i < 8; i++)
		ctx[i] = host_spawn(hog, (void *)300, i < 2 ? "pinned"
				    : "hog", 0, i < 2 ? 0 : SCHED_ANY_CPU);
	for (int i = 0; i < 8; i++) {
		while (!__atomic_load_n(&ctx[i]->done, __ATOMIC_SEQ_CST))
			usleep(1000);
		if (i < 2)
			pinned_seen |= ctx[i]->cpus_seen;
		else
			seen |= ctx[i]->cpus_seen;
	}
	code = run_and_watch(ctx, 8, 8);
	if (code != WORLD_OK)
		return code;
	printf("  8 started on CPU 0: unpinned ran on CPUs mask %#lx, "
	       "pinned on %#lx; %lu steals, %lu preemptions\n",
	       (unsigned long)seen, (unsigned long)pinned_seen,
	       (unsigned long)total(get_steals),
	       (unsigned long)total(get_preemptions));
	return seen == 7 && pinned_seen == 1 && total(get_steals) > 0
		? WORLD_OK : WORLD_FAILED;
}

/* ---- Sleeping ---- */

static long sleeper(void *arg)
{
	uint64_t *late = arg, worst = 0, sum = 0;

	for (int i = 0; i < 25; i++) {
		uint64_t t = host_now_ns(), d;

		sleep_ms(2);
		d = host_now_ns() - t;
		if (d < 2000000)
			host_error("sleep_ms(2) took %lu ns", (unsigned long)d);
		d -= 2000000;
		sum += d;
		worst = d > worst ? d : worst;
		__atomic_fetch_add(&host_progress, 1, __ATOMIC_RELAXED);
	}
	late[0] = sum / 25;
	late[1] = worst;
	return 0;
}

static __attribute__((unused)) int world_sleep(void)
{
	static uint64_t late[4][2];
	struct host_ctx *ctx[4];
	uint64_t mean = 0, worst = 0;
	int code;

	host_cpus_start(2);
	for (int i = 0; i < 4; i++)
		ctx[i] = host_spawn(sleeper, late[i], "sleeper", -1, -1);
	code = run_and_watch(ctx, 4, 8);
	if (code != WORLD_OK)
		return code;
	for (int i = 0; i < 4; i++) {
		mean += late[i][0] / 4;
		worst = late[i][1] > worst ? late[i][1] : worst;
	}
	printf("  100 sleeps of 2 ms: late by %lu us on average, %lu us at "
	       "worst (host threads: noisy)\n", (unsigned long)mean / 1000,
	       (unsigned long)worst / 1000);
	return WORLD_OK;
}

/* ---- What must panic ---- */

static struct spinlock held_lock = SPINLOCK_INIT("held");

static long blocks_holding_lock(void *arg)
{
	(void)arg;
	spin_lock(&held_lock);
	sched_yield_cpu();
	return 0;
}

static long unlocks_foreign_mutex(void *arg)
{
	(void)arg;
	mutex_unlock(&counter_mutex);
	return 0;
}

static long yields_preempt_off(void *arg)
{
	(void)arg;
	preempt_disable();
	sched_yield_cpu();
	return 0;
}

static int misuse(long (*fn)(void *))
{
	struct host_ctx *c;

	mutex_init(&counter_mutex, "counter");
	host_cpus_start(1);
	c = host_spawn(fn, NULL, "misuse", 0, -1);
	host_join(c);
	return WORLD_OK;
}

static __attribute__((unused)) int world_lock_switch(void)
{
	return misuse(blocks_holding_lock);
}

static __attribute__((unused)) int world_foreign_unlock(void)
{
	return misuse(unlocks_foreign_mutex);
}

static __attribute__((unused)) int world_preempt_off_switch(void)
{
	return misuse(yields_preempt_off);
}

#define WORLD_CASE(name, world, want)                                   \
	CASE(name) {                                                     \
		int code_ = host_world(world, 110);                      \
                                                                         \
		CHECKF(code_ == (want), "world ended with %d, want %d",  \
		       code_, want);                                     \
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
	CASE("broken on_cpu: a stolen context runs on two CPUs") {
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
	WORLD_CASE("stress: spinlock and mutex totals exact, preempted",
		   world_stress, WORLD_OK);
	WORLD_CASE("bounded buffer: two semaphores and a mutex",
		   world_buffer, WORLD_OK);
	WORLD_CASE("join: 192 contexts, every result, nothing left",
		   world_join, WORLD_OK);
	WORLD_CASE("affinity: 12,000 moves, each lands on its CPU",
		   world_migrate, WORLD_OK);
	WORLD_CASE("steal: work spreads from CPU 0, pinned ones stay",
		   world_steal, WORLD_OK);
	WORLD_CASE("sleep_ms: never early", world_sleep, WORLD_OK);
	WORLD_CASE("panics: switching with a spinlock held",
		   world_lock_switch, WORLD_PANIC);
	WORLD_CASE("panics: switching with preemption disabled",
		   world_preempt_off_switch, WORLD_PANIC);
	WORLD_CASE("panics: unlocking a mutex one does not hold",
		   world_foreign_unlock, WORLD_PANIC);
	return check_done("test_wakeup");
#endif
}
