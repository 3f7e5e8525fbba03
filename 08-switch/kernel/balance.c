/*
 * balance.c: where contexts run. A new context goes to the least
 * loaded CPU (or to the one it is pinned to); a CPU with nothing to do
 * takes a context from the busiest; every few ticks a CPU evens out
 * with one that has two or more contexts more than it has.
 */
#include "scheduler.h"

/**
 * ## Spreading the work
 *
 * Per-CPU queues make switching cheap, and they bring a problem a
 * single shared queue does not have: one CPU may have five contexts
 * waiting while another halts with none. Three rules keep the queues
 * even:
 *
 * 1. **Placement.** A new context goes to the CPU with the smallest
 *    *load* (contexts queued, plus one if a context other than idle is
 *    running there), preferring this CPU among equals. A context with
 *    an *affinity* goes to its CPU, always.
 * 2. **Stealing.** A CPU about to go idle, or whose idle loop finds
 *    nothing, takes one context from the CPU with the longest queue.
 *    A busy CPU that gets a wake-up while some CPU is halted sends the
 *    halted one an IPI, so that it comes and takes the work at once.
 *    If that queue's lock is held just then, the thief does not wait
 *    for it: it looks again next time (its next tick, a millisecond
 *    on, or on a slow idle tick the busy CPU's next IPI, within 8
 *    ms: sched.c). Otherwise every idle CPU lines up on the one busy
 *    CPU's lock, the fair lock serves them in turn, and under QEMU each
 *    hand-over waits for the host to run that CPU's thread: 64 CPUs
 *    ran the `sched` scenario in 28 CPU-seconds, 18 with the look.
 * 3. **Balancing.** Every SCHED_BALANCE_TICKS ticks each CPU compares
 *    its load with the busiest CPU's; if that one has two or more
 *    contexts more, it takes one. Two, not one: moving a context from
 *    a CPU with one more only swaps which CPU has more, and the
 *    context would bounce back and forth.
 *
 * Loads are read without locks (each is one word, written with an
 * atomic store), so a choice may be made on a figure a moment old. The
 * move itself happens under both run-queue locks, after checking again.
 *
 * What may move: a context that is queued (not running), not pinned,
 * and whose `on_cpu` is 0. The last condition is the *on_cpu
 * handshake*: a context whose CPU has put it back in its queue but is
 * still inside switch_to(), saving its registers and its FPU state,
 * must not be loaded by another CPU yet (runqueue.c,
 * `rq_steal_candidate`; sched.c, `sched_finish`). The FPU state
 * travels with the context for the same reason as the rest:
 * switch_to() saves it into the context's own area before `on_cpu`
 * falls to 0, and the new CPU's switch_to() loads it from there.
 *
 * Balancing by load is not perfect fairness. Five busy contexts on
 * four CPUs leave two of them sharing one CPU, each at half speed,
 * while the other three run alone: no move makes the loads more even,
 * so none happens. Real schedulers compare the time each context has
 * had, not only how many there are, and still get it wrong at times:
 * a study of Linux's (Lozi et al., "The Linux Scheduler: a Decade of
 * Wasted Cores", 2016) found CPUs left idle for seconds while others
 * had queues.
 *
 * Redox 0.3.5 has no moves at all: a context belongs to the first CPU
 * whose switch happened to look at it, for its whole life.
 *
 * ## Lock order
 *
 * A move holds two run-queue locks. Two CPUs that each took their own
 * first and then the other's could wait for each other forever, so
 * both are always taken lowest CPU index first. With the rest of the
 * kernel's locks: a wait queue's lock (wait.c) comes before any
 * run-queue lock, the console is a leaf, and nothing here calls the
 * heap.
 */

static unsigned load_of(const struct runqueue *rq)
{
	return __atomic_load_n(&rq->load, __ATOMIC_RELAXED);
}

static unsigned queued_of(const struct runqueue *rq)
{
	return __atomic_load_n(&rq->nr_queued, __ATOMIC_RELAXED);
}

unsigned sched_place(const struct sched_entity *se, int cpu)
{
	struct runqueue *here = sched_env_this_rq(), *best = here;
	unsigned n = sched_ncpus();

	if (se->affinity != SCHED_ANY_CPU)
		return (unsigned)se->affinity;
	if (cpu >= 0 && sched_rq((unsigned)cpu))
		return (unsigned)cpu;
	for (unsigned i = 0; i < n; i++) {
		struct runqueue *rq = sched_rq(i);

		if (rq && (!best || load_of(rq) < load_of(best)))
			best = rq;
	}
	if (!best)
		ctx_panic("sched: no CPU has a run queue");
	return best->index;
}

static void lock_two(struct runqueue *a, struct runqueue *b)
{
	if (a->index > b->index) {
		struct runqueue *t = a;

		a = b;
		b = t;
	}
	spin_lock(&a->lock);
	spin_lock(&b->lock);
}

static void unlock_two(struct runqueue *a, struct runqueue *b)
{
	spin_unlock(&b->lock);
	spin_unlock(&a->lock);
}

/* Move one context from src's queue to dst's, if the reason still
 * holds under both locks: dst idle with an empty queue and src with a
 * queue (steal), or src's load two above dst's (balance). */
static bool pull_one(struct runqueue *dst, struct runqueue *src,
		     bool steal)
{
	struct sched_entity *se = NULL;
	bool ok;

	lock_two(dst, src);
	ok = steal ? dst->nr_queued == 0 && src->nr_queued > 0
		   : src->load >= dst->load + 2;
	if (ok)
		se = rq_steal_candidate(src);
	if (se) {
		rq_dequeue(src, se);
		rq_enqueue(dst, se);
		se->migrations++;
		src->st.given++;
		dst->st.steals++;
	}
	unlock_two(dst, src);
	return se != NULL;
}

/* The other CPU with the largest figure (queue length or load). */
static struct runqueue *busiest(struct runqueue *rq, bool by_load)
{
	struct runqueue *best = NULL;
	unsigned most = 0, n = sched_ncpus();

	for (unsigned i = 0; i < n; i++) {
		struct runqueue *o = sched_rq(i);
		unsigned v;

		if (!o || o == rq)
			continue;
		v = by_load ? load_of(o) : queued_of(o);
		if (v > most) {
			most = v;
			best = o;
		}
	}
	return best;
}

bool sched_steal(struct runqueue *rq)
{
	struct runqueue *src = busiest(rq, false);

	if (src && __atomic_load_n(&src->lock.locked, __ATOMIC_RELAXED))
		return false;        /* held: look again next time (above) */
	return src && pull_one(rq, src, true);
}

void sched_balance(struct runqueue *rq)
{
	struct runqueue *src = busiest(rq, true);

	if (src && load_of(src) >= load_of(rq) + 2)
		pull_one(rq, src, false);
}

void sched_kick_thief(struct runqueue *busy)
{
	struct runqueue *here = sched_env_this_rq();
	unsigned n = sched_ncpus();

	for (unsigned k = 1; k < n; k++) {
		struct runqueue *rq = sched_rq((busy->index + k) % n);

		bool kick;

		if (!rq || rq == here ||
		    !__atomic_load_n(&rq->halted, __ATOMIC_SEQ_CST))
			continue;
		spin_lock(&rq->lock);
		kick = __atomic_load_n(&rq->halted, __ATOMIC_SEQ_CST);
		if (kick)
			rq->st.kicks++;
		spin_unlock(&rq->lock);
		if (kick) {
			sched_env_kick(rq);
			return;
		}
	}
}

/**
 * ## Moving the running context
 *
 * `sched_set_affinity()` pins the running context to another CPU. It
 * cannot put itself in that CPU's queue while it runs: the other CPU
 * could take it at once and load registers this CPU has not saved
 * yet. So it switches away with `moving` set, in no queue at all, and
 * the context that runs after it here, in sched_finish(), once `on_cpu`
 * is 0, queues it on its new CPU, and wakes that CPU if it is halted.
 */
void sched_move_finish(struct sched_entity *se)
{
	unsigned to = sched_place(se, -1);
	struct runqueue *rq = sched_rq(to);
	bool kick = false;

	spin_lock(&rq->lock);
	rq_enqueue(rq, se);
	se->migrations++;
	if (rq->curr == rq->idle) {
		__atomic_store_n(&rq->need_resched, true, __ATOMIC_SEQ_CST);
		kick = rq != sched_env_this_rq() &&
		       __atomic_load_n(&rq->halted, __ATOMIC_SEQ_CST);
		if (kick)
			rq->st.kicks++;
	}
	spin_unlock(&rq->lock);
	if (kick)
		sched_env_kick(rq);
}
