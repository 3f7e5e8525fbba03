/*
 * shim/clock.h: a stand-in for chapter 06's kernel/clock.h: the calls
 * sched_setup.c uses, for compiling wip/08-switch only.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

uint64_t clock_tsc_ns(uint64_t ticks);
uint64_t clock_lapic_hz(void);

#endif /* CLOCK_H */
