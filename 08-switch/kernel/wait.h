/*
 * wait.h: waiting for an event without spinning. A wait queue holds
 * the contexts waiting for something; a mutex and a counting semaphore
 * are built on it. wait.c explains them, and the lost wake-up.
 */
#ifndef WAIT_H
#define WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "scheduler.h"
#include "spinlock.h"

/* One context waiting in one queue: lives on the waiter's stack for
 * the length of the wait. */
struct waiter {
	struct sched_link link;      /* in the queue, while queued */
	struct sched_entity *se;     /* who waits */
	bool queued;                 /* in the queue */
	bool granted;                /* handed what it waits for */
	unsigned sleeps;             /* times it went to sleep */
};

/* Invariant: waiters is the list of queued waiters, oldest first,
 * each BLOCKED or about to be; all of it under lock. */
struct waitq {
	struct spinlock lock;
	struct sched_link waiters;
	unsigned nr;                 /* queued waiters */
	uint64_t sleeps;             /* waits that slept, in all */
	uint64_t wakeups;            /* waiters woken, in all */
};

/* Called under the queue's lock: has the waiter got what it waits
 * for? It may take it (a unit of a semaphore) when it says yes. */
typedef bool (*wait_try_fn)(void *arg, struct waiter *w);

void waitq_init(struct waitq *q, const char *name);

/* Wait until try(arg, w) says yes, sleeping in q meanwhile. A waker
 * changes what try looks at, then wakes (the order matters only if it
 * does not hold q's lock for the change: wait.c). Not in an interrupt
 * handler or an idle context; no spinlock held. */
void waitq_wait(struct waitq *q, wait_try_fn try, void *arg);

/* The first half of waitq_wait, for callers that switch themselves
 * (the simulator): with interrupts off, returns true if try said yes
 * (w is out of the queue, the context RUNNING); false if the context
 * is now BLOCKED in q, and must call sched_block() and then this
 * again. */
bool waitq_prepare(struct waitq *q, struct waiter *w, wait_try_fn try,
		   void *arg);

/* Holding q->lock: wake the oldest waiter (NULL if none), after
 * setting its `granted` if grant; or all of them (how many). */
struct waiter *waitq_wake_one_locked(struct waitq *q, bool grant);
unsigned waitq_wake_all_locked(struct waitq *q);
/* The same, taking the lock. */
unsigned waitq_wake_all(struct waitq *q);

/* A sleeping lock: a context that finds it held waits in its queue.
 * Unlock hands it to the oldest waiter, so waiters get it in turn. */
struct mutex {
	struct waitq q;
	struct sched_entity *owner;  /* under q.lock; NULL if free */
	uint64_t acquired;           /* times taken */
	uint64_t contended;          /* of those, times the taker slept */
};

void mutex_init(struct mutex *m, const char *name);
void mutex_lock(struct mutex *m);    /* may sleep */
bool mutex_trylock(struct mutex *m); /* never sleeps */
void mutex_unlock(struct mutex *m);  /* by its owner only */
bool mutex_held(struct mutex *m);    /* by the running context */

/* A counting semaphore: down takes a unit, waiting for one if there
 * is none; up gives one back, to the oldest waiter if there is one. */
struct semaphore {
	struct waitq q;
	long count;                  /* units free; under q.lock */
};

void sem_init(struct semaphore *s, long count, const char *name);
void sem_down(struct semaphore *s);
bool sem_trydown(struct semaphore *s);
void sem_up(struct semaphore *s);

/* mutex_lock's and sem_down's try functions, for waitq_prepare. */
bool mutex_try(void *mutex, struct waiter *w);
bool sem_try(void *sem, struct waiter *w);

/* A test may widen the race windows of wait.c and sched.c (nothing in
 * the kernel defines it): where, a name for the place. */
#ifndef SCHED_TEST_WINDOW
#define SCHED_TEST_WINDOW(where) ((void)0)
#endif

#endif /* WAIT_H */
