/*
 * spinlock_host.h: spin_lock() and spin_unlock() for a host program
 * that runs kernel code which takes a lock (frame.c takes the frame
 * lock). The program has one thread, so the lock never waits: it only
 * checks that it is taken and released in pairs, and counts. Include
 * it once, after the kernel file.
 */
#ifndef SPINLOCK_HOST_H
#define SPINLOCK_HOST_H

#include <stdio.h>
#include <stdlib.h>

#include "../../kernel/spinlock.h"

void spin_lock(struct spinlock *l)
{
	if (l->locked) {
		fprintf(stderr, "lock '%s' taken twice\n", l->name);
		abort();
	}
	l->locked = 1;
	l->acquired++;
}

void spin_unlock(struct spinlock *l)
{
	if (!l->locked) {
		fprintf(stderr, "lock '%s' released unheld\n", l->name);
		abort();
	}
	l->locked = 0;
}

#endif /* SPINLOCK_HOST_H */
