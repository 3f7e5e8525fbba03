/*
 * redox_world.h: Redox 0.3.5's way of switching, run for real on the
 * kernel's CPUs, as the baseline of the scheduler's benchmarks
 * (sched_bench.c): contexts with their own stacks that yield through
 * the re-created switch() decision (redox_sched.c) and chapter 07's
 * switch_to(). redox_world.c explains how it lives inside our kernel.
 *
 * One world at a time (the benchmark's); its contexts never meet our
 * scheduler's.
 */
#ifndef REDOX_WORLD_H
#define REDOX_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "redox_sched.h"

/* The most CPUs a world spans. */
#define REDOX_WORLD_CPUS 16

/*
 * Build the world for CPUs 0 .. ncpu - 1: for each CPU a place for its
 * driver (below), then `yielders` contexts per CPU, each with a stack
 * and an FPU area, which only ever yield. On one CPU they start with no
 * owner, as Redox's do, and the first update pass claims them; on more,
 * each CPU owns `yielders` of them (Redox would give them all to the
 * first CPU that switched). The first `runnable` of each CPU's are
 * runnable; the others are blocked for good, waiting for an event that
 * never comes. wait_all: a batch (below) ends on every CPU at once,
 * when every CPU has done its share; then one batch per CPU. Returns
 * 0, or -1 if memory ran out (nothing is left allocated). Interrupts
 * on.
 */
int redox_world_init(unsigned ncpu, unsigned yielders, unsigned runnable,
		     bool wait_all);

/*
 * In a context of ours pinned to its CPU, which becomes the world's
 * idle context for that CPU (its *driver*): run `switches` switches of
 * the world on this CPU, with interrupts off as Redox's switch needs
 * (the driver opens Redox's one-instruction window each time its turn
 * comes) and our preemption off. Returns the TSC ticks from the
 * batch's start to its last switch. A batch goes on where the last one
 * stopped, in the round robin.
 */
uint64_t redox_world_batch(uint64_t switches);

/* CPU cpu's counters so far: switches, lock spins. */
struct redox_cpu redox_world_stats(unsigned cpu);

/* Free every context of the world. No CPU in a batch; interrupts on. */
void redox_world_free(void);

#endif /* REDOX_WORLD_H */
