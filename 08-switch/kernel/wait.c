/*
 * wait.c: wait queues, and the sleeping mutex and counting semaphore
 * built on them. A context that must wait for an event gives its CPU
 * away until the event's maker wakes it.
 */
#include "wait.h"

/**
 * ## Waiting without spinning
 *
 * A spinlock's waiter keeps its CPU busy asking "free yet?". That is
 * right for a lock held for a few hundred instructions, and wrong for
 * anything longer: a lock held across a disk read, a queue of work that
 * may stay empty for a second, the end of another context. A *wait
 * queue* lets a context wait without a CPU: it writes itself into the
 * queue of the thing it waits for, makes itself BLOCKED and switches
 * away; whoever makes the event happen takes it out of the queue and
 * wakes it (sched_wake), which puts it back in its CPU's run queue.
 *
 * ## The lost wake-up
 *
 * The obvious way to wait has a hole in it:
 *
 *     // Wrong.
 *     if (!ready)             // 1. look
 *             sleep_on(q);    // 2. sleep until woken
 *
 *     ready = true;           // the waker, on another CPU
 *     wake_all(q);
 *
 * If the waker runs between 1 and 2, it sets `ready`, finds nobody in
 * q to wake, and goes on; then the waiter goes to sleep, waiting for a
 * wake-up that has already happened. Nothing will ever wake it. This is
 * the *lost wake-up*, and it is the classic bug of every
 * check-then-sleep: each half is correct, and the gap between them is
 * not. It shows rarely, under load, on another machine.
 *
 * The cure is to make "look" and "go to sleep" one step as far as the
 * waker can tell. `waitq_prepare()` does both under the queue's lock,
 * in this order:
 *
 * 1. Take q's lock (interrupts are off from here to the switch).
 * 2. Make the running context BLOCKED.
 * 3. Look (the `try` function). If what it waits for is there: back
 *    to RUNNING, out of the queue, done.
 * 4. Otherwise, into the queue (if not in it already); let go of the
 *    lock; switch away (sched_block).
 *
 * The waker changes the condition and then wakes, taking q's lock to
 * wake. Either the waker's wake comes before step 1, and then step 3
 * sees its change; or it comes after step 4's unlock, and then it
 * finds the waiter in the queue and wakes it. It cannot come in
 * between: it needs the lock. And if its wake comes after the unlock
 * but before the waiter has switched away, the wake finds the waiter
 * still running and simply sets it back to RUNNING, and sched_block()
 * returns at once (sched.c).
 *
 * Step 2 before step 3 is the order that matters even without the
 * lock: a waker that changes the condition without q's lock, and then
 * looks at the waiter's state, either sees BLOCKED (and wakes it) or
 * made its change before the waiter looked (and the waiter sees it).
 * The kernel's own wake-ups always take the lock, which is simpler to
 * check, but the order costs nothing and keeps that reasoning true.
 *
 * A waiter may come back from sched_block() without what it waits
 * for: a wake-up meant for an earlier wait of the same context, say.
 * So waiting is a loop around waitq_prepare(), and each turn looks
 * again. A waiter woken in turn keeps its place: it is taken out of
 * the queue only when it is woken, or when it stops waiting.
 *
 * `tests/host/test_wakeup.c` runs this code on threads standing in for
 * CPUs, with millions of waits and wake-ups, and counts lost ones; a
 * variant of this file built with SCHED_BROKEN_WAIT looks before it
 * takes the lock, as in the wrong version above, and the same test
 * must catch it losing one.
 */
static struct waiter *waiter_of(struct sched_link *l)
{
	return (struct waiter *)l;
}

_Static_assert(__builtin_offsetof(struct waiter, link) == 0,
	       "a link's address is its waiter's");

void waitq_init(struct waitq *q, const char *name)
{
	*q = (struct waitq){ .lock = SPINLOCK_INIT(name) };
	q->waiters.next = q->waiters.prev = &q->waiters;
}

static void waiter_link(struct waitq *q, struct waiter *w)
{
	struct sched_link *back = q->waiters.prev;

	w->link.next = &q->waiters;
	w->link.prev = back;
	back->next = &w->link;
	q->waiters.prev = &w->link;
	w->queued = true;
	q->nr++;
}

static void waiter_unlink(struct waitq *q, struct waiter *w)
{
	w->link.prev->next = w->link.next;
	w->link.next->prev = w->link.prev;
	w->link.next = w->link.prev = NULL;
	w->queued = false;
	q->nr--;
}

/* Back to RUNNING, out of q: the wait is over. Holds q->lock. */
static bool wait_done(struct waitq *q, struct waiter *w)
{
	if (w->queued)
		waiter_unlink(q, w);
	__atomic_store_n(&w->se->state, CTX_RUNNING, __ATOMIC_SEQ_CST);
	return true;
}

#ifndef SCHED_BROKEN_WAIT
bool waitq_prepare(struct waitq *q, struct waiter *w, wait_try_fn try,
		   void *arg)
{
	spin_lock(&q->lock);                                    /* 1. */
	sched_set_blocked();                                    /* 2. */
	if (try(arg, w)) {                                      /* 3. */
		wait_done(q, w);
		spin_unlock(&q->lock);
		return true;
	}
	SCHED_TEST_WINDOW("wait: decided to sleep");
	if (!w->queued)                                         /* 4. */
		waiter_link(q, w);
	w->sleeps++;
	q->sleeps++;
	spin_unlock(&q->lock);
	return false;
}
#else
/* The lost wake-up, on purpose, for the test that must catch it: look
 * (under the lock, so that try's own data is safe), let go, and only
 * then become BLOCKED and join the queue. Never in the kernel. */
bool waitq_prepare(struct waitq *q, struct waiter *w, wait_try_fn try,
		   void *arg)
{
	bool done;

	spin_lock(&q->lock);
	done = try(arg, w) && wait_done(q, w);
	spin_unlock(&q->lock);
	if (done)
		return true;
	SCHED_TEST_WINDOW("wait: decided to sleep");
	spin_lock(&q->lock);
	sched_set_blocked();
	if (!w->queued)
		waiter_link(q, w);
	w->sleeps++;
	q->sleeps++;
	spin_unlock(&q->lock);
	return false;
}
#endif

void waitq_wait(struct waitq *q, wait_try_fn try, void *arg)
{
	struct waiter w = { .se = sched_current() };
	uint64_t irq = ctx_irq_save();

	while (!waitq_prepare(q, &w, try, arg)) {
		SCHED_TEST_WINDOW("wait: about to switch away");
		sched_block();
	}
	ctx_irq_restore(irq);
}

/* The waker must not touch w once q's lock is released: the woken
 * context may return from its wait, and w is on its stack. */
struct waiter *waitq_wake_one_locked(struct waitq *q, bool grant)
{
	struct waiter *w;
	struct sched_entity *se;

	if (q->waiters.next == &q->waiters)
		return NULL;
	w = waiter_of(q->waiters.next);
	se = w->se;
	waiter_unlink(q, w);
	if (grant)
		w->granted = true;
	q->wakeups++;
	sched_wake(se);
	return w;
}

unsigned waitq_wake_all_locked(struct waitq *q)
{
	unsigned n = 0;

	while (waitq_wake_one_locked(q, false))
		n++;
	return n;
}

unsigned waitq_wake_all(struct waitq *q)
{
	unsigned n;

	spin_lock(&q->lock);
	n = waitq_wake_all_locked(q);
	spin_unlock(&q->lock);
	return n;
}

/**
 * ## A sleeping mutex
 *
 * A mutex is a lock whose waiters sleep. Its holder may take as long
 * as it likes, be preempted, even wait for something else; the
 * contexts that want it give their CPUs to other work meanwhile. It
 * costs more than a spinlock when it is free (a wait queue's lock to
 * take it, and another to let go), and much less when it is held for
 * long. It may not be taken in an interrupt handler (which cannot
 * sleep) nor with a spinlock held (a context that sleeps holding a
 * spinlock leaves other CPUs spinning for it; schedule() panics).
 *
 * Unlocking *hands the mutex over*: if a context waits, it becomes
 * the owner there and then, and is woken already holding it. Without
 * the hand-over, the woken waiter would have to race for the mutex
 * with every context that comes along before it runs again, and could
 * lose every time; with it, waiters get the mutex in the order they
 * asked.
 */
bool mutex_try(void *mutex, struct waiter *w)
{
	struct mutex *m = mutex;

	if (m->owner == w->se)
		return true;               /* handed over by unlock */
	if (m->owner)
		return false;
	m->owner = w->se;
	return true;
}

void mutex_init(struct mutex *m, const char *name)
{
	*m = (struct mutex){ .owner = NULL };
	waitq_init(&m->q, name);
}

void mutex_lock(struct mutex *m)
{
	struct waiter w = { .se = sched_current() };
	uint64_t irq;

	if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) == w.se)
		ctx_panic("mutex '%s' taken twice by its owner",
			  m->q.lock.name);
	irq = ctx_irq_save();
	while (!waitq_prepare(&m->q, &w, mutex_try, m)) {
		SCHED_TEST_WINDOW("mutex: about to switch away");
		sched_block();
	}
	m->acquired++;                     /* the owner's alone now */
	m->contended += w.sleeps > 0;
	ctx_irq_restore(irq);
}

bool mutex_trylock(struct mutex *m)
{
	bool got;

	spin_lock(&m->q.lock);
	got = m->owner == NULL;
	if (got) {
		m->owner = sched_current();
		m->acquired++;
	}
	spin_unlock(&m->q.lock);
	return got;
}

void mutex_unlock(struct mutex *m)
{
	struct waiter *w;

	spin_lock(&m->q.lock);
	if (m->owner != sched_current())
		ctx_panic("mutex '%s' released by a context that does not "
			  "hold it", m->q.lock.name);
	w = m->q.waiters.next != &m->q.waiters ?
		waiter_of(m->q.waiters.next) : NULL;
	m->owner = w ? w->se : NULL;
	if (w)
		waitq_wake_one_locked(&m->q, true);
	spin_unlock(&m->q.lock);
}

bool mutex_held(struct mutex *m)
{
	return __atomic_load_n(&m->owner, __ATOMIC_RELAXED) ==
	       sched_current();
}

/**
 * ## A counting semaphore
 *
 * A semaphore holds a count of units: free slots in a buffer, items
 * in a queue, permits. `sem_down` takes one, sleeping until one is
 * there; `sem_up` gives one back. Like the mutex, `sem_up` hands its
 * unit straight to the oldest waiter, if there is one, instead of
 * adding it to the count for anyone to take.
 */
bool sem_try(void *sem, struct waiter *w)
{
	struct semaphore *s = sem;

	if (w->granted)
		return true;               /* handed over by sem_up */
	if (s->count <= 0)
		return false;
	s->count--;
	return true;
}

void sem_init(struct semaphore *s, long count, const char *name)
{
	*s = (struct semaphore){ .count = count };
	waitq_init(&s->q, name);
}

void sem_down(struct semaphore *s)
{
	waitq_wait(&s->q, sem_try, s);
}

bool sem_trydown(struct semaphore *s)
{
	bool got;

	spin_lock(&s->q.lock);
	got = s->count > 0;
	if (got)
		s->count--;
	spin_unlock(&s->q.lock);
	return got;
}

void sem_up(struct semaphore *s)
{
	spin_lock(&s->q.lock);
	if (!waitq_wake_one_locked(&s->q, true))
		s->count++;
	spin_unlock(&s->q.lock);
}
