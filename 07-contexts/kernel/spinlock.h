/*
 * spinlock.h: the kernel's lock. A CPU that finds it taken waits,
 * spinning, until the holder lets go. spinlock.c explains the rules.
 *
 * Chapter 05 had one CPU. From chapter 06 on the same calls work
 * across CPUs: a ticket lock, fair, with counters; the interface is
 * chapter 05's, so the heap's code did not change.
 */
#ifndef SPINLOCK_H
#define SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct spinlock {
	volatile uint32_t locked;  /* 1 while a CPU holds the lock */
	const char *name;          /* for reports and gdb: "heap" */
	int cpu;                   /* the holder's CPU index, -1 if none */
	uintptr_t caller;          /* where the holder called spin_lock() */

	/* The ticket lock (spinlock.c, "Taking turns"). */
	volatile uint32_t next;    /* the next ticket to hand out */
	volatile uint32_t serving; /* the ticket whose turn it is */

	/* Counters, written by the holder only (gdb: `locks`). */
	uint64_t acquired;         /* times taken */
	uint64_t contended;        /* of those, times the taker waited */
	uint64_t spins;            /* turns of the waiting loop, in all */
	uint64_t longest;          /* the longest wait, in TSC ticks */
	uint64_t halts;            /* times a waiter halted (spinlock.c) */
	volatile uint32_t halted;  /* waiters halted now */

	struct spinlock *list_next; /* the list of locks (spin_locks()) */
	bool listed;                /* on that list */
};

#define SPINLOCK_INIT(lock_name) \
	{ .locked = 0, .name = (lock_name), .cpu = -1, .caller = 0 }

/* Take the lock: interrupts off (restored by the matching outermost
 * spin_unlock()), preemption off, then wait for this CPU's turn.
 * Panics if this CPU holds it already, or after waiting
 * SPIN_LIMIT_SECONDS without the lock changing hands. */
void spin_lock(struct spinlock *l);

/* Let go. Panics if this CPU does not hold it. */
void spin_unlock(struct spinlock *l);

/* Does this CPU hold it? (For preconditions: "holds the heap lock".) */
bool spin_held(const struct spinlock *l);

/* Locks this CPU holds, and its preempt count. 0 outside any lock. */
unsigned spin_depth(void);
unsigned preempt_count(void);

/* How long a waiter may see the lock not change hands before it
 * panics: a deadlock, or a holder that never lets go. */
#define SPIN_LIMIT_SECONDS 10

/* Turns of a waiting loop before the waiter halts until woken (lapic.c,
 * "Halting until woken"). */
#define SPIN_BEFORE_HALT 512

/* Every lock in the kernel's data that has been taken at least once,
 * newest first, linked by list_next (gdb's `locks` walks the same
 * list). */
struct spinlock *spin_locks(void);

#endif /* SPINLOCK_H */
