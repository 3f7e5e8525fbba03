/*
 * smp.h: starting the other CPUs, and giving them work. smp.c
 * explains the start-up; trampoline.asm is the code an AP runs first.
 */
#ifndef SMP_H
#define SMP_H

#include "percpu.h"
#include <stdbool.h>
#include <stdint.h>

/* How the start-up messages are sent (smp.c, "Why INIT, then two
 * SIPIs"). */
enum smp_mode {
	SMP_PARALLEL,        /* INIT, SIPI, SIPI to each, no delays; then
	                        wait for all together (the default) */
	SMP_PARALLEL_SDM,    /* INIT to all, 10 ms, SIPI to all, 200 us,
	                        SIPI to all; then wait for all */
	SMP_SEQUENTIAL_SDM,  /* one CPU at a time: INIT, 10 ms, SIPI,
	                        200 us, SIPI, wait for it, then the next */
};

/* The trampoline's page (trampoline.asm): physical, below 1 MiB. */
extern const uint64_t trampoline_base;

/* The boot CPU, once, after percpu_setup() and clock_setup(): start
 * every other enabled CPU and print `smp: N of M CPUs online`. */
void smp_start(void);
extern uint64_t smp_boot_ns;   /* how long that took, guest ns */

/* Stop every other CPU (INIT: back to waiting for a SIPI) and start
 * them again with `mode`: for the benchmark and tests. Boot CPU; the
 * others idle. Returns the guest nanoseconds the start took. */
uint64_t smp_restart(enum smp_mode mode);

/* CPUs online, the boot CPU included; one online CPU other than this
 * one (the lowest index), or NULL. */
unsigned smp_online(void);
struct cpu *smp_other_cpu(void);

/* Run fn(arg) on CPU c, which must be online and not this CPU, in its
 * idle loop with interrupts on. Returns at once. One work at a time
 * per CPU: smp_wait(c) waits until it has returned. */
void smp_run_on(struct cpu *c, void (*fn)(void *), void *arg);
void smp_wait(struct cpu *c);

/* fn(arg) on every online CPU, this one included (last), and wait
 * until all have returned. */
void smp_run_all(void (*fn)(void *), void *arg);

/* trampoline.asm jumps here, on the CPU's own kernel stack. */
_Noreturn void ap_main(struct cpu *c);

#endif /* SMP_H */
