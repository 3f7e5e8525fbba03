/*
 * test_runqueue.c: the scheduler's pieces one at a time, on one host
 * thread: the run queue and the sleep list (runqueue.c), the decisions
 * of sched_next() and sched_tick(), wake-ups, placement, the status
 * line, and the misuses that must panic. The simulator's environment
 * (sim_env.h) provides the CPUs; nothing runs on its own here.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SIM_PANIC_HOOK
#include "check.h"
#include "format.c"
#include "../../kernel/runqueue.c"
#include "../../kernel/sched.c"
#include "../../kernel/balance.c"
#include "../../kernel/wait.c"
#include "host_cpu.h"
#include "sim_env.h"

static jmp_buf panic_jump;
static bool panic_expected;

static _Noreturn void sim_panic_hook(const char *msg)
{
	if (!panic_expected) {
		check_fail(__FILE__, __LINE__, "unexpected panic: %s", msg);
		check_abandon();
	}
	panic_expected = false;
	longjmp(panic_jump, 1);
}

static bool same(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* Run stmt, which must panic with exactly want. */
#define EXPECT_PANIC(stmt, want)                                        \
	do {                                                            \
		panic_expected = true;                                  \
		sim_panic[0] = '\0';                                    \
		if (setjmp(panic_jump) == 0) {                          \
			stmt;                                           \
			panic_expected = false;                         \
			CHECKF(0, "no panic, want \"%s\"", want);       \
		} else {                                                \
			CHECKF(same(sim_panic, want), "panic \"%s\", "  \
			       "want \"%s\"", sim_panic, want);         \
		}                                                       \
		host_cpu->lock_depth = 0;   /* a panic left them */     \
		host_cpu->preempt = 0;                                  \
	} while (0)

/* Bare entities, for the queue alone. */
static struct sched_entity ent[16];

static void fresh_entities(void)
{
	for (int i = 0; i < 16; i++) {
		sched_entity_init(&ent[i], SCHED_ANY_CPU);
		ent[i].state = CTX_RUNNABLE;
	}
}

/* Be CPU k, interrupts off, as the scheduler's callers are. */
static struct runqueue *on_cpu(unsigned k)
{
	host_cpu = &host_cpus[k];
	host_cpu->irq_off = 1;
	return &host_cpus[k].rq;
}

/* CPU k runs the front of its queue (its idle context ran before). */
static struct runqueue *run_front(unsigned k)
{
	struct runqueue *rq = on_cpu(k);

	sched_next(rq, SCHED_YIELD);
	sched_finish(rq->idle);
	return rq;
}

/* One CPU, fresh entities, its queue's lock held. */
static struct runqueue *queue_alone(void)
{
	struct runqueue *rq;

	sim_setup(1);
	fresh_entities();
	rq = on_cpu(0);
	spin_lock(&rq->lock);
	return rq;
}

/* ---- The queue ---- */

static void queue_is_fifo(void)
{
	struct runqueue *rq;

	rq = queue_alone();
	CHECK(rq_pop(rq) == NULL);
	for (int i = 0; i < 5; i++)
		rq_enqueue(rq, &ent[i]);
	CHECK(rq->nr_queued == 5 && rq->load == 5);
	for (int i = 0; i < 5; i++)
		CHECK(rq_pop(rq) == &ent[i]);
	CHECK(rq_pop(rq) == NULL);
	CHECK(rq->nr_queued == 0 && rq->load == 0);
	CHECK(rq->st.max_queued == 5);
	spin_unlock(&rq->lock);
}

static void dequeue_anywhere(void)
{
	struct runqueue *rq;

	rq = queue_alone();
	for (int i = 0; i < 6; i++)
		rq_enqueue(rq, &ent[i]);
	rq_dequeue(rq, &ent[0]);            /* front */
	rq_dequeue(rq, &ent[3]);            /* middle */
	rq_dequeue(rq, &ent[5]);            /* back */
	CHECK(!ent[3].queued && ent[3].link.next == NULL);
	CHECK(rq_pop(rq) == &ent[1]);
	CHECK(rq_pop(rq) == &ent[2]);
	CHECK(rq_pop(rq) == &ent[4]);
	CHECK(rq_pop(rq) == NULL);
	rq_enqueue(rq, &ent[3]);            /* back in, at the back */
	CHECK(rq_pop(rq) == &ent[3]);
	spin_unlock(&rq->lock);
}

static void queue_misuse_panics(void)
{
	struct runqueue *rq;

	sim_setup(2);
	fresh_entities();
	rq = on_cpu(0);      /* (no lock: these calls do not look) */
	EXPECT_PANIC(rq_enqueue(rq, rq->idle),
		     "run queue 0: enqueue of an idle context");
	rq_enqueue(rq, &ent[0]);
	EXPECT_PANIC(rq_enqueue(rq, &ent[0]),
		     "run queue 0: enqueue of a queued context");
	EXPECT_PANIC(rq_dequeue(&host_cpus[1].rq, &ent[0]),
		     "run queue 1: dequeue of a context it lacks");
	EXPECT_PANIC(rq_dequeue(rq, &ent[1]),
		     "run queue 0: dequeue of a context it lacks");
}

static void steal_candidates(void)
{
	struct runqueue *rq;

	sim_setup(2);
	fresh_entities();
	rq = on_cpu(0);
	spin_lock(&rq->lock);
	CHECK(rq_steal_candidate(rq) == NULL);
	for (int i = 0; i < 4; i++)
		rq_enqueue(rq, &ent[i]);
	CHECK(rq_steal_candidate(rq) == &ent[3]);   /* from the back */
	ent[3].affinity = 0;                        /* pinned */
	ent[2].on_cpu = 1;                          /* still saving */
	CHECK(rq_steal_candidate(rq) == &ent[1]);
	ent[1].affinity = 0;
	ent[0].affinity = 0;
	CHECK(rq_steal_candidate(rq) == NULL);
	spin_unlock(&rq->lock);
	/* The look stops after SCHED_STEAL_SCAN contexts. */
	rq = queue_alone();
	rq_enqueue(rq, &ent[15]);
	for (int i = 0; i < SCHED_STEAL_SCAN; i++) {
		ent[i].affinity = 0;
		rq_enqueue(rq, &ent[i]);
	}
	CHECK(rq_steal_candidate(rq) == NULL);
	spin_unlock(&rq->lock);
}

static void sleep_list_order(void)
{
	static const uint64_t at[6] = { 50, 10, 30, 10, 70, 30 };
	static const int want[6] = { 1, 3, 2, 5, 0, 4 };   /* ties FIFO */
	struct runqueue *rq;

	rq = queue_alone();
	for (int i = 0; i < 6; i++) {
		ent[i].wake_at = at[i];
		rq_sleep_insert(rq, &ent[i]);
	}
	CHECK(rq->st.sleepers == 6);
	CHECK(rq_sleep_expired(rq, 9) == NULL);
	rq_sleep_remove(rq, &ent[5]);
	for (int i = 0; i < 6; i++) {
		struct sched_entity *se;

		if (want[i] == 5)
			continue;
		se = rq_sleep_expired(rq, 100);
		CHECKF(se == &ent[want[i]], "sleeper %d: %ld", i,
		       se ? (long)(se - ent) : -1L);
	}
	CHECK(rq_sleep_expired(rq, 1000) == NULL);
	CHECK(rq->st.sleepers == 0);
	EXPECT_PANIC(rq_sleep_remove(rq, &ent[0]),
		     "run queue 0: sleeper not on its list");
}

/* ---- Decisions ---- */

static struct sched_entity *started(int cpu)
{
	static int n;
	struct sched_entity *se = &ent[n++ % 16];

	sched_entity_init(se, SCHED_ANY_CPU);
	sched_start(se, cpu);
	return se;
}

static void next_takes_front(void)
{
	struct runqueue *rq;
	struct sched_entity *a, *b, *c;

	sim_setup(1);
	a = started(0);
	b = started(0);
	c = started(0);
	rq = on_cpu(0);
	CHECK(sched_next(rq, SCHED_YIELD) == a);    /* idle -> a */
	CHECK(rq->curr == a && a->state == CTX_RUNNING && a->on_cpu);
	CHECK(rq->idle->state == CTX_RUNNABLE && !rq->idle->queued);
	sched_finish(rq->idle);
	CHECK(rq->idle->on_cpu == 0);
	CHECK(sched_next(rq, SCHED_YIELD) == b);    /* a to the back */
	CHECK(a->queued && a->state == CTX_RUNNABLE);
	sched_finish(a);
	CHECK(sched_next(rq, SCHED_PREEMPT) == c);
	CHECK(b->preempted == 1 && rq->st.preemptions == 1);
	sched_finish(b);
	CHECK(sched_next(rq, SCHED_YIELD) == a);
	CHECK(rq->st.switches == 4);
}

static void yield_alone_goes_on(void)
{
	struct runqueue *rq;
	struct sched_entity *a;

	sim_setup(1);
	a = started(0);
	rq = run_front(0);
	a->slice = 3;
	CHECK(sched_next(rq, SCHED_YIELD) == a);    /* nobody waits */
	CHECK(a->state == CTX_RUNNING && a->slice == SCHED_SLICE_TICKS);
	CHECK(rq->st.switches == 1);
	CHECK(sched_next(rq, SCHED_PREEMPT) == a);
}

static void block_and_wake(void)
{
	struct runqueue *rq;
	struct sched_entity *a, *b;

	sim_setup(1);
	a = started(0);
	b = started(0);
	rq = run_front(0);
	/* a waits: out of the queue; b runs */
	sched_set_blocked();
	CHECK(sched_next(rq, SCHED_BLOCK) == b);
	sched_finish(a);
	CHECK(!a->queued && a->state == CTX_BLOCKED);
	CHECK(sched_wake(a));
	CHECK(a->queued && a->state == CTX_RUNNABLE);
	CHECK(!sched_wake(a));                      /* not blocked */
	CHECK(!sched_wake(b));                      /* running */
	/* b waits, and is woken before it switches away */
	sched_set_blocked();
	CHECK(sched_wake(b));
	CHECK(b->state == CTX_RUNNING && !b->queued);
	CHECK(rq->st.raced == 1);
	CHECK(sched_next(rq, SCHED_BLOCK) == b);    /* goes on */
	/* b waits for real; the queue has a; then nothing */
	sched_set_blocked();
	CHECK(sched_next(rq, SCHED_BLOCK) == a);
	sched_finish(b);
	sched_set_blocked();
	CHECK(sched_next(rq, SCHED_BLOCK) == rq->idle);
	sched_finish(a);
	CHECK(rq->idle->state == CTX_RUNNING);
	CHECK(rq->load == 0);
}

static void wake_other_cpu_kicks(void)
{
	struct runqueue *rq0, *rq1;
	struct sched_entity *a;

	sim_setup(2);
	a = started(1);
	rq1 = run_front(1);
	sched_set_blocked();
	sched_next(rq1, SCHED_BLOCK);
	sched_finish(a);
	CHECK(sched_idle_prepare(rq1));             /* cpu1 halts */
	CHECK(rq1->halted && sched_halted_cpus() == 1);
	rq0 = on_cpu(0);
	(void)rq0;
	CHECK(sched_wake(a));                       /* from cpu0 */
	CHECK(host_cpus[1].kicked && rq1->st.kicks == 1);
	CHECK(rq1->need_resched);
	on_cpu(1);
	sched_idle_woken(rq1);
	CHECK(!sched_idle_prepare(rq1));            /* work: no halt */
	CHECK(sched_next(rq1, SCHED_YIELD) == a);
}

static void next_refuses_unsaved(void)
{
	struct runqueue *rq;
	struct sched_entity *a;

	sim_setup(1);
	a = started(0);
	rq = on_cpu(0);
	a->on_cpu = 1;       /* as if another CPU were still saving it */
	EXPECT_PANIC(sched_next(rq, SCHED_YIELD),
		     "sched: CPU 0 would run a context whose registers "
		     "another CPU is still saving");
}

static void exit_reported_after_switch(void)
{
	struct runqueue *rq;
	struct sim_task *t;
	static const struct sim_op once[] = { { OP_EXIT, 0, 0 } };

	sim_setup(1);
	t = sim_spawn(once, "once", 0, SCHED_ANY_CPU);
	rq = run_front(0);
	t->se.state = CTX_EXITED;
	CHECK(sched_next(rq, SCHED_EXIT) == rq->idle);
	CHECK(!t->exited && t->se.on_cpu);          /* not yet: saving */
	sched_finish(&t->se);
	CHECK(t->exited && !t->se.on_cpu);
}

/* ---- The tick ---- */

static void tick_counts_slice(void)
{
	struct runqueue *rq;
	struct sched_entity *a;

	sim_setup(1);
	a = started(0);
	rq = run_front(0);
	for (int i = 0; i < 3 * SCHED_SLICE_TICKS; i++)
		sched_tick();          /* alone: new slices, no request */
	CHECK(!rq->need_resched);
	started(0);
	for (int i = 0; i < SCHED_SLICE_TICKS - 1; i++)
		sched_tick();
	CHECK(!rq->need_resched);
	sched_tick();
	CHECK(rq->need_resched);
	CHECK(sched_preempt_due(rq));
	sched_env_preempt_add(1);
	CHECK(!sched_preempt_due(rq));              /* count raised */
	sched_env_preempt_add(-1);
	CHECK(sched_preempt_due(rq));
	sched_next(rq, SCHED_PREEMPT);
	CHECK(!rq->need_resched && a->queued);
}

static void tick_wakes_sleepers(void)
{
	struct runqueue *rq;
	struct sched_entity *a;

	sim_setup(1);
	a = started(0);
	rq = run_front(0);
	host_cpu->clock = 1000;
	CHECK(!sched_sleep_prepare(5000));
	CHECK(a->state == CTX_BLOCKED && a->sleeping);
	sched_next(rq, SCHED_BLOCK);
	sched_finish(a);
	host_cpu->clock = 4999;
	sched_tick();
	CHECK(a->state == CTX_BLOCKED && !rq->need_resched);
	host_cpu->clock = 5000;
	sched_tick();
	CHECK(a->state == CTX_RUNNABLE && a->queued && !a->sleeping);
	CHECK(rq->need_resched);                    /* idle has work */
	CHECK(!sched_preempt_due(rq));              /* idle: its loop */
}

static void tick_charges_time(void)
{
	struct runqueue *rq;
	struct sched_entity *a;

	sim_setup(1);
	a = started(0);
	rq = on_cpu(0);
	host_cpu->clock = 100;
	sched_next(rq, SCHED_YIELD);
	sched_finish(rq->idle);
	host_cpu->clock = 1100;
	sched_tick();
	CHECK(a->runtime == 1000);
	CHECK(rq->idle->runtime == 100 && rq->st.idle_ns == 100);
}

/* ---- Placement ---- */

static void placement(void)
{
	struct sched_entity x, y;

	sim_setup(3);
	for (int i = 0; i < 2; i++)
		started(0);
	started(1);
	on_cpu(1);
	sched_entity_init(&x, SCHED_ANY_CPU);
	CHECK(sched_place(&x, -1) == 2);            /* the empty one */
	started(2);
	CHECK(sched_place(&x, -1) == 1);            /* tie: this CPU */
	CHECK(sched_place(&x, 0) == 0);             /* asked for */
	CHECK(sched_place(&x, 7) == 1);             /* no CPU 7 */
	sched_entity_init(&y, 2);
	CHECK(sched_place(&y, 0) == 2);             /* pinned wins */
	host_cpu = NULL;
	CHECK(sched_place(&x, -1) == 1);            /* from no CPU */
}

static void balance_moves_two_apart(void)
{
	struct runqueue *rq1;

	sim_setup(2);
	for (int i = 0; i < 3; i++)
		started(0);
	rq1 = on_cpu(1);
	sched_balance(rq1);                         /* 3 vs 0: move */
	CHECK(rq1->nr_queued == 1 && host_cpus[0].rq.nr_queued == 2);
	CHECK(rq1->st.steals == 1 && host_cpus[0].rq.st.given == 1);
	sched_balance(rq1);                         /* 2 vs 1: stay */
	CHECK(rq1->nr_queued == 1);
}

static void status_line(void)
{
	struct sched_cpu_stats prev[2] = { 0 };
	char buf[200];

	sim_setup(2);
	started(0);
	started(0);
	host_cpus[0].rq.st.switches = 412;
	host_cpus[1].rq.st.idle_ns = 250000000;
	host_cpus[1].rq.idle->exec_start = 0;
	host_cpus[1].clock = 0;
	host_cpu = NULL;
	sched_format_status(buf, sizeof buf, prev, 0, 2, 1000000000);
	CHECKF(same(buf, "cpu0 412 sw 0% idle q2 | cpu1 0 sw 25% idle q0"),
	       "got \"%s\"", buf);
	sched_format_status(buf, sizeof buf, prev + 1, 1, 1, 1000000000);
	CHECKF(same(buf, "cpu1 0 sw 0% idle q0"), "got \"%s\"", buf);
	sched_format_status(buf, sizeof buf, prev, 0, 2, 1000000000);
	CHECKF(same(buf, "cpu0 0 sw 0% idle q2 | cpu1 0 sw 0% idle q0"),
	       "got \"%s\"", buf);
	CHECK(prev[0].switches == 412);
	CHECK(same(sched_state_name(CTX_BLOCKED), "blocked"));
	CHECK(same(sched_state_name(99), "bad"));
}

static void misuse_panics(void)
{
	struct runqueue *rq;

	sim_setup(2);
	rq = on_cpu(0);
	EXPECT_PANIC(sched_set_blocked(),
		     "sched: an idle context cannot wait");
	EXPECT_PANIC(sched_cpu_init(&host_cpus[0].rq, 0, &ent[0]),
		     "sched: CPU 0 set up twice, or out of range");
	started(0);
	sched_next(rq, SCHED_YIELD);
	sched_finish(rq->idle);
	host_cpu->irq_off = 0;
	EXPECT_PANIC(sched_set_blocked(),
		     "sched: blocking with interrupts on");
	host_cpu->irq_off = 1;
	CHECK(!sched_set_affinity(-5) && !sched_set_affinity(2));
}

int main(void)
{
	RUN(queue_is_fifo);
	RUN(dequeue_anywhere);
	RUN(queue_misuse_panics);
	RUN(steal_candidates);
	RUN(sleep_list_order);
	RUN(next_takes_front);
	RUN(yield_alone_goes_on);
	RUN(block_and_wake);
	RUN(wake_other_cpu_kicks);
	RUN(next_refuses_unsaved);
	RUN(exit_reported_after_switch);
	RUN(tick_counts_slice);
	RUN(tick_wakes_sleepers);
	RUN(tick_charges_time);
	RUN(placement);
	RUN(balance_moves_two_apart);
	RUN(status_line);
	RUN(misuse_panics);
	return check_done("test_runqueue");
}
