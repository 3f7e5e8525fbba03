/*
 * runqueue.c: one CPU's run queue and sleep list, the data structures
 * under the scheduler's decisions. Every function here expects the
 * caller to hold rq->lock, and none takes another lock.
 */
#include "scheduler.h"

/**
 * ## The run queue: a ring with a head
 *
 * A CPU's run queue holds the contexts that are ready to run there
 * and waiting for their turn, oldest first. The scheduler asks three
 * things of it: add a context at the back (a new context, one woken
 * up, one whose slice ran out), take the one at the front (the next
 * to run), and take out one from anywhere (a context another CPU
 * takes, the idle CPU's *steal*). Each must cost the same with 3
 * contexts queued or 3,000, because each happens with the queue's
 * lock held and interrupts off, on every switch.
 *
 * A *doubly linked ring with a head* gives all three in a few pointer
 * moves. Every queued context has two links, `next` and `prev`; the
 * queue itself is one more pair of links (`rq->queue`), which is not
 * a context and closes the ring:
 *
 *     rq->queue <-> A <-> B <-> C <-> (back to rq->queue)
 *     front: rq->queue.next = A         back: rq->queue.prev = C
 *
 * Adding C at the back links it between the old back and the head;
 * taking A from the front unlinks A; taking B from the middle links
 * its two neighbours to each other. None of them looks at any other
 * context, and none has a special case for an empty queue: an empty
 * queue is a head linked to itself.
 *
 * From a link to its context is a subtraction: the link is the first
 * member of `struct sched_entity`, so the two have the same address
 * (`entity_of` below checks that at compile time).
 *
 * Redox 0.3.5 keeps no queue at all. Its contexts sit in one map,
 * ordered by id, shared by every CPU, and each switch walks the map:
 * once to update every context, then to find the first runnable one
 * after the current id, then, if none, from the start. The cost of a
 * switch grows with the number of contexts in the whole system, and
 * every CPU does that walk under one lock.
 */

_Static_assert(offsetof(struct sched_entity, link) == 0,
	       "a link's address is its entity's");

static struct sched_entity *entity_of(struct sched_link *l)
{
	return (struct sched_entity *)l;
}

static void count_store(unsigned *p, unsigned v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* load = queued + 1 if a context other than the idle one runs. */
static void update_load(struct runqueue *rq)
{
	count_store(&rq->load, rq->nr_queued +
		    (rq->curr && rq->curr != rq->idle));
}

void rq_init(struct runqueue *rq, unsigned index)
{
	*rq = (struct runqueue){ .index = index };
	rq->lock = (struct spinlock)SPINLOCK_INIT("runqueue");
	rq->queue.next = rq->queue.prev = &rq->queue;
}

/* Precondition: se RUNNABLE, in no queue, not an idle context. */
void rq_enqueue(struct runqueue *rq, struct sched_entity *se)
{
	struct sched_link *back = rq->queue.prev;

	if (se->is_idle || se->queued)
		ctx_panic("run queue %u: enqueue of %s context", rq->index,
			  se->is_idle ? "an idle" : "a queued");
	se->link.next = &rq->queue;
	se->link.prev = back;
	back->next = &se->link;
	rq->queue.prev = &se->link;
	se->queued = true;
	se->cpu = rq->index;
	count_store(&rq->nr_queued, rq->nr_queued + 1);
	if (rq->nr_queued > rq->st.max_queued)
		rq->st.max_queued = rq->nr_queued;
	update_load(rq);
}

void rq_dequeue(struct runqueue *rq, struct sched_entity *se)
{
	if (!se->queued || se->cpu != rq->index)
		ctx_panic("run queue %u: dequeue of a context it lacks",
			  rq->index);
	se->link.prev->next = se->link.next;
	se->link.next->prev = se->link.prev;
	se->link.next = se->link.prev = NULL;
	se->queued = false;
	count_store(&rq->nr_queued, rq->nr_queued - 1);
	update_load(rq);
}

/* The front context, taken out; NULL if the queue is empty. */
struct sched_entity *rq_pop(struct runqueue *rq)
{
	struct sched_entity *se;

	if (rq->queue.next == &rq->queue)
		return NULL;
	se = entity_of(rq->queue.next);
	rq_dequeue(rq, se);
	return se;
}

/**
 * ## What another CPU may take
 *
 * A thief takes from the *back* of the queue: the context that would
 * wait longest here, and the one whose data has had the most time to
 * leave this CPU's caches anyway. It skips two kinds of context:
 *
 * - one pinned to a CPU by its affinity;
 * - one whose `on_cpu` is still 1: it was put back in the queue by the
 *   CPU that ran it (a yield, a preemption, a wake-up that came while
 *   it was switching away), and that CPU is still inside `switch_to()`
 *   saving its registers. Taking it now would let the thief load them
 *   before they are all written. Its own CPU may take it later (it
 *   finishes the switch first); a thief waits for the next round.
 *
 * The look is bounded (SCHED_STEAL_SCAN contexts), so a queue full of
 * pinned contexts costs a thief a few steps, not a walk of the queue.
 */
struct sched_entity *rq_steal_candidate(struct runqueue *rq)
{
	struct sched_link *l = rq->queue.prev;

	for (int n = 0; n < SCHED_STEAL_SCAN && l != &rq->queue;
	     n++, l = l->prev) {
		struct sched_entity *se = entity_of(l);

		if (se->affinity != SCHED_ANY_CPU)
			continue;
#ifndef SCHED_BROKEN_ONCPU   /* the test's broken variant skips this */
		if (__atomic_load_n(&se->on_cpu, __ATOMIC_ACQUIRE))
			continue;
#endif
		return se;
	}
	return NULL;
}

/* Make se the running context (se may be rq->idle). */
void rq_set_curr(struct runqueue *rq, struct sched_entity *se)
{
	rq->curr = se;
	update_load(rq);
}

/**
 * ## The sleep list
 *
 * A context that sleeps for a time (`sleep_ms`) waits on its CPU's
 * *sleep list*, sorted by the time it must wake, soonest first. The
 * timer tick looks only at the front: while the front's time has come,
 * it takes it off and makes it runnable. A tick with nobody to wake
 * costs one comparison.
 *
 * Putting a sleeper in its place walks the list, so a CPU with many
 * sleepers pays for it at each `sleep_ms` (not at each tick). A
 * kernel with thousands of timers uses a *timer wheel* instead (an
 * array of lists, one per tick of the next few seconds), where adding
 * is one step; a few sleepers per CPU do not need it.
 */
void rq_sleep_insert(struct runqueue *rq, struct sched_entity *se)
{
	struct sched_entity **p = &rq->sleepers;

	while (*p && (*p)->wake_at <= se->wake_at)
		p = &(*p)->sleep_next;
	se->sleep_next = *p;
	*p = se;
	se->sleeping = true;
	se->cpu = rq->index;
	rq->st.sleepers++;
}

/* The front sleeper, taken off, if its time has come; else NULL. */
struct sched_entity *rq_sleep_expired(struct runqueue *rq, uint64_t now)
{
	struct sched_entity *se = rq->sleepers;

	if (!se || se->wake_at > now)
		return NULL;
	rq->sleepers = se->sleep_next;
	se->sleep_next = NULL;
	se->sleeping = false;
	rq->st.sleepers--;
	return se;
}

void rq_sleep_remove(struct runqueue *rq, struct sched_entity *se)
{
	struct sched_entity **p = &rq->sleepers;

	while (*p && *p != se)
		p = &(*p)->sleep_next;
	if (!*p)
		ctx_panic("run queue %u: sleeper not on its list",
			  rq->index);
	*p = se->sleep_next;
	se->sleep_next = NULL;
	se->sleeping = false;
	rq->st.sleepers--;
}
