/*
 * redox_sched.c: the decision of Redox 0.3.5's switch(), re-created in
 * C as the baseline of the scheduler's benchmarks (redox_sched.h).
 * Pure logic: the kernel's benchmark adds the register switch.
 */
#include "redox_sched.h"

/**
 * ## The baseline: Redox 0.3.5's switch, step by step
 *
 * To compare a design with ours, the benchmarks run its decision on the
 * same machine, with the same register switch after it. This is what
 * Redox 0.3.5's `switch()` does each time any CPU switches, in our
 * words and in C:
 *
 * 1. Reset the global tick count (`PIT_TICKS`): one count for every
 *    CPU, so any CPU's switch restarts every CPU's slice.
 * 2. Take the global switch lock, a plain test-and-set: try to swap 0
 *    for 1 until a try succeeds. Whoever's try lands first after a
 *    release wins; nobody waits in turn.
 * 3. Find the current context: the CPU keeps only its id.
 * 4. **The update pass**: every context in the system, one by one,
 *    under its own lock: claim it for this CPU if nobody owns it yet,
 *    finish a signal handler's return if it is not running, wake it if
 *    it is blocked with a signal pending or its sleep has run out.
 * 5. **Search pass 1**: the first context, by ascending id, with an id
 *    above the current one's that may run here (not running, runnable,
 *    owned by this CPU), looked at under its lock.
 * 6. **Search pass 2**, if pass 1 found none: the same test over the
 *    ids below the current one's. The two passes make round robin by
 *    id; the current context itself is never chosen.
 * 7. If one was found: the current context is marked not running and
 *    the target running, and the target becomes the CPU's current.
 * 8. Release the switch lock, then (the caller) switch the registers.
 *
 * Every switch costs the update pass, n lock round trips for n
 * contexts, whether or not they have anything to do, and holds the one
 * lock every other CPU needs to switch while it does so. Where Redox
 * keeps contexts in a B-tree map, each behind a pointer to its own heap
 * object, the re-creation keeps them in one array sorted by id: cheaper
 * to walk, so its figures are a lower bound on the original's. Signals
 * are never pending here, so the signal steps cost their tests only.
 */
bool redox_lock(uint32_t *l, uint64_t *spins)
{
	uint32_t expected = 0;
	uint64_t before = *spins;

	while (!__atomic_compare_exchange_n(l, &expected, 1, false,
					    __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED)) {
		expected = 0;
		++*spins;
		__builtin_ia32_pause();
	}
	return *spins != before;
}

void redox_unlock(uint32_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* Step 4 for one context, under its lock. */
static void update(struct redox_ctx *c, int cpu, uint64_t now)
{
	if (c->cpu == REDOX_NO_CPU)
		c->cpu = cpu;
	if (c->ksig_restore && !c->running)
		c->ksig_restore = false;
	if (c->status == REDOX_BLOCKED && c->pending)
		c->status = REDOX_RUNNABLE;
	if (c->status == REDOX_BLOCKED && c->wake && c->wake <= now) {
		c->wake = 0;
		c->status = REDOX_RUNNABLE;
	}
}

static bool runnable(const struct redox_ctx *c, int cpu)
{
	return !c->running && c->status == REDOX_RUNNABLE && c->cpu == cpu;
}

/* Steps 5 and 6: the first context that may run here with an id above
 * (above) or below (!above) `from`, each looked at under its lock. */
static unsigned search(struct redox_world *w, struct redox_cpu *cpu,
		       uint64_t from, bool above)
{
	for (unsigned i = 0; i < w->n; i++) {
		struct redox_ctx *c = &w->ctx[i];
		bool found;

		if (above ? c->id <= from : c->id >= from)
			continue;
		redox_lock(&c->lock, &cpu->ctx_spins);
		found = runnable(c, cpu->index);
		redox_unlock(&c->lock);
		if (found)
			return i;
	}
	return w->n;
}

unsigned redox_pick(struct redox_world *w, struct redox_cpu *cpu,
		    uint64_t now)
{
	unsigned to;
	uint64_t from;

	__atomic_store_n(&w->pit_ticks, 0, __ATOMIC_RELAXED);      /* 1. */
	cpu->lock_waits += redox_lock(&w->switch_lock,              /* 2. */
				      &cpu->lock_spins);
	from = w->ctx[cpu->current].id;                             /* 3. */
	for (unsigned i = 0; i < w->n; i++) {                       /* 4. */
		redox_lock(&w->ctx[i].lock, &cpu->ctx_spins);
		update(&w->ctx[i], cpu->index, now);
		redox_unlock(&w->ctx[i].lock);
	}
	to = search(w, cpu, from, true);                            /* 5. */
	if (to == w->n)
		to = search(w, cpu, from, false);                   /* 6. */
	if (to != w->n) {                                           /* 7. */
		w->ctx[cpu->current].running = false;
		w->ctx[to].running = true;
		cpu->current = to;
		cpu->switches++;
	}
	redox_unlock(&w->switch_lock);                              /* 8. */
	return to;
}
