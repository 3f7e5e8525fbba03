/*
 * clock.h: time. The TSC and the local APIC timer, calibrated at boot
 * against a clock of known rate (the HPET, the ACPI PM timer or the
 * PIT); delays and a monotonic nanosecond clock. clock.c explains it.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* A clock of known rate: a counter that counts up by hz per second
 * and wraps at mask + 1. */
struct clock_ref {
	const char *name;          /* "HPET", "ACPI PM timer", "PIT" */
	uint64_t hz;
	uint64_t mask;             /* 2^bits - 1 */
	uint64_t (*read)(void);
	void (*start)(void);       /* before a measurement, or NULL */
	bool (*overran)(void);     /* the measurement was too long for the
	                              counter (the PIT's), or NULL */
	uint64_t max_ms;           /* the longest measurement it allows */
	uint64_t read_cycles;      /* what one read costs, in TSC ticks */
};

/* Boot CPU, interrupts off, after lapic_setup() and acpi_setup(): find
 * the references, calibrate the TSC and the local APIC timer against
 * the best one, print the rates. */
void clock_setup(void);
bool clock_ready(void);

/* Nanoseconds since clock_setup(), from the TSC: never decreasing on
 * one CPU. */
uint64_t clock_ns(void);

/* How long a self-test waits for an interrupt that must come. It comes
 * in microseconds, but QEMU's timers run on a host thread that a busy
 * host may leave waiting for hundreds of milliseconds: a short limit
 * would fail a correct kernel, and a long one costs nothing when the
 * interrupt comes. */
#define IRQ_WAIT_MS 3000

/* With interrupts on, wait until *counter is no longer old, or ms
 * milliseconds have passed; interrupts are off again after. True if
 * it changed. (How the tests wait for an interrupt without hanging
 * when it never comes.) */
bool clock_wait_change(const volatile uint64_t *counter, uint64_t old,
		       uint64_t ms);

/* Busy-wait at least us microseconds (ms milliseconds). */
void udelay(uint64_t us);
void mdelay(uint64_t ms);

/* The calibrated rates: TSC ticks per second, and local APIC timer
 * counts per second (after its divider). */
uint64_t clock_tsc_hz(void);
uint64_t clock_lapic_hz(void);

/* The references found, the first being the one calibrated against. */
unsigned clock_ref_count(void);
const struct clock_ref *clock_ref_get(unsigned i);

/* Measure against r: TSC ticks and local APIC timer counts over ms
 * milliseconds of r (the timer must be counting). Returns false if
 * the measurement overran r's counter. */
bool clock_measure(const struct clock_ref *r, uint64_t ms,
		   uint64_t *tsc_hz, uint64_t *lapic_hz);

/* Read the TSC and r together: the tightest of five tries. Returns the
 * TSC ticks between the two TSC reads around r's (the pair's error). */
uint64_t clock_sample(const struct clock_ref *r, uint64_t *tsc,
		      uint64_t *ref);

/* TSC ticks, and local APIC timer counts, as nanoseconds at the
 * calibrated rates. */
uint64_t clock_tsc_ns(uint64_t ticks);
uint64_t clock_ns_of_lapic(uint64_t counts);

/* r's ticks from `from` to `to`, as nanoseconds (one wrap at most). */
uint64_t clock_ref_ns(const struct clock_ref *r, uint64_t from,
		      uint64_t to);

#endif /* CLOCK_H */
