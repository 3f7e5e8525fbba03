/*
 * redox_sched.h: a re-creation of Redox 0.3.5's switch() decision, the
 * baseline the scheduler's benchmarks measure ours against: one global
 * test-and-set lock for every switch in the system, an update pass that
 * write-locks every context, and two search passes for round robin by
 * id. redox_sched.c explains it.
 *
 * Pure logic, no kernel headers: the kernel's benchmark
 * (sched_bench.c) runs it with real switches on real CPUs, and the
 * host benchmark (bench/bench_runqueue.c) runs the decision alone.
 */
#ifndef REDOX_SCHED_H
#define REDOX_SCHED_H

#include <stdbool.h>
#include <stdint.h>

/* A context's status, as far as switch() looks at it. */
enum { REDOX_RUNNABLE, REDOX_BLOCKED };

/* No owner yet: the next CPU to run the update pass claims it. */
#define REDOX_NO_CPU (-1)

/*
 * What switch() reads and writes of one context (Redox's `Context`,
 * behind its own lock). Invariants: the fields change only with `lock`
 * held (the running flags also under the world's switch lock); a
 * context runs on its owner CPU only, and `running` is true on exactly
 * one context per CPU that is in the world.
 */
struct redox_ctx {
	uint64_t id;              /* ascending along the world's array */
	uint32_t lock;            /* its RwLock's write side: 1 = held */
	bool running;             /* on its CPU now */
	int status;               /* REDOX_RUNNABLE or REDOX_BLOCKED */
	int cpu;                  /* its owner, or REDOX_NO_CPU */
	uint64_t wake;            /* blocked until then; 0: no deadline */
	bool ksig_restore;        /* a signal handler's state to restore */
	int pending;              /* signals waiting */
	void *env;                /* the caller's: the kernel's context */
};

/* Every context in the system, sorted by id (Redox: a BTreeMap). */
struct redox_world {
	struct redox_ctx *ctx;
	unsigned n;
	uint32_t switch_lock;     /* CONTEXT_SWITCH_LOCK: 1 = held */
	uint64_t pit_ticks;       /* PIT_TICKS: reset by every switch */
};

/* One CPU's side: its current context (Redox's CONTEXT_ID) and the
 * benchmark's counters, written by that CPU only. */
struct redox_cpu {
	int index;                /* the CPU's number */
	unsigned current;         /* index in world->ctx of its context */
	uint64_t switches;        /* decisions that found a target */
	uint64_t lock_spins;      /* turns waiting for the switch lock */
	uint64_t lock_waits;      /* switches that waited for it at all */
	uint64_t ctx_spins;       /* turns waiting for context locks */
};

/* Take and release one test-and-set lock; each failed attempt adds one
 * to *spins; true if there was one. (Also the host benchmark's plain
 * test-and-set lock.) */
bool redox_lock(uint32_t *l, uint64_t *spins);
void redox_unlock(uint32_t *l);

/*
 * Steps 1-9 of Redox 0.3.5's switch() on CPU cpu at time now: the
 * decision without the register switch. Returns the index of the
 * context to switch to, now marked running (and the current one not),
 * with cpu->current set to it; or world->n if there is none (nothing
 * changes then). The caller then switches registers from the old
 * current to the new one. Interrupts off (Redox's rule).
 */
unsigned redox_pick(struct redox_world *w, struct redox_cpu *cpu,
		    uint64_t now);

#endif /* REDOX_SCHED_H */
