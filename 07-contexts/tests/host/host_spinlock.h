/*
 * host_spinlock.h: spinlock.h's functions for host tests whose code
 * under test runs on several threads: a real spin lock, with each
 * thread a "CPU" of its own (host_cpu_index) for spin_held(). Misuse
 * (taking a lock twice, releasing one not held) is counted in
 * host_lock_errors, which the tests check, as the kernel would panic.
 */
#ifndef HOST_SPINLOCK_H
#define HOST_SPINLOCK_H

#include "../../kernel/spinlock.h"

static __thread int host_cpu_index;         /* this thread's "CPU" */
static __thread unsigned host_lock_depth;   /* spinlocks it holds */
static long host_lock_errors;               /* atomic */
static long host_lock_acquires;             /* atomic: every spin_lock */

bool spin_held(const struct spinlock *l)
{
	return __atomic_load_n(&l->locked, __ATOMIC_ACQUIRE) &&
	       __atomic_load_n(&l->cpu, __ATOMIC_RELAXED) == host_cpu_index;
}

void spin_lock(struct spinlock *l)
{
	if (spin_held(l))
		__atomic_fetch_add(&host_lock_errors, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&host_lock_acquires, 1, __ATOMIC_RELAXED);
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
	__atomic_store_n(&l->cpu, host_cpu_index, __ATOMIC_RELAXED);
	host_lock_depth++;
}

void spin_unlock(struct spinlock *l)
{
	if (!spin_held(l))
		__atomic_fetch_add(&host_lock_errors, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&l->cpu, -1, __ATOMIC_RELAXED);
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	host_lock_depth--;
}

unsigned spin_depth(void)
{
	return host_lock_depth;
}

#endif /* HOST_SPINLOCK_H */
