/*
 * spinlock.h: the kernel's lock. A CPU that finds it taken waits,
 * spinning, until the holder lets go. spinlock.c explains the rules.
 *
 * Chapter 05 has one CPU, and the heap is the first user: the lock
 * there keeps an interrupt out of a change to the heap and names the
 * order in which locks may be taken. (Interrupt handlers may call the
 * heap only from chapter 06 on, once frames and page tables have locks
 * of their own: heap.h.) Chapter 06 makes the same calls work across
 * CPUs (a ticket lock with counters); this interface does not change.
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
};

#define SPINLOCK_INIT(lock_name) \
	{ .locked = 0, .name = (lock_name), .cpu = -1, .caller = 0 }

/* Take the lock: interrupts off (restored by the matching outermost
 * spin_unlock()), preemption off, then wait until it is free. Panics
 * if this CPU holds it already. */
void spin_lock(struct spinlock *l);

/* Let go. Panics if this CPU does not hold it. */
void spin_unlock(struct spinlock *l);

/* Does this CPU hold it? (For preconditions: "holds the heap lock".) */
bool spin_held(const struct spinlock *l);

/* Locks this CPU holds, and its preempt count. 0 outside any lock. */
unsigned spin_depth(void);
unsigned preempt_count(void);

#endif /* SPINLOCK_H */
