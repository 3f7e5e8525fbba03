/*
 * clock.c: calibrates the TSC and the local APIC timer against a clock
 * of known rate, and gives the kernel delays and a nanosecond clock.
 */
#include "clock.h"
#include "acpi_setup.h"
#include "acpi_timer.h"
#include "fwmap.h"
#include "intr.h"
#include "kprintf.h"
#include "lapic.h"
#include "panic.h"
#include "x86.h"

/**
 * # A calibrated clock
 *
 * ## Two fast clocks of unknown rate
 *
 * Each CPU has two clocks that cost almost nothing to read or to use:
 *
 * - the **time-stamp counter** (TSC), a 64-bit count that the `rdtsc`
 *   instruction reads. It counts at a fixed rate on current CPUs (CPUID
 *   0x80000007, EDX bit 8, *invariant TSC*, promises it), once at
 *   whatever rate the CPU ran;
 * - the **local APIC timer** (lapic.c), which counts down and raises
 *   an interrupt at 0: the timer each CPU's scheduler will use in
 *   chapter 08.
 *
 * Neither says how fast it goes. The TSC's rate is the CPU's nominal
 * clock on most models, the timer's is the bus or crystal clock
 * divided by 16 here, and both differ between machines. Recent Intel
 * CPUs report them in CPUID leaves 0x15 and 0x16, but not all CPUs
 * have those leaves, and QEMU 7.2 answers leaves above its maximum
 * (0xD) with leaf 0xD's data instead of zeros, so a kernel that asked
 * without checking the maximum leaf first would read nonsense. Under
 * QEMU the TSC runs at the host's TSC rate (2096 MHz on the machine
 * this was written on) and the timer at 1 GHz before its divider.
 *
 * So the kernel *measures* them, once at boot: it counts TSC ticks and
 * timer counts over a stretch of time measured by a clock whose rate
 * is known, and divides. Every later delay, timeout and clock reading
 * is TSC ticks times that rate.
 *
 * ## Three clocks of known rate
 *
 * | reference | rate | bits | one read |
 * |---|---|---|---|
 * | HPET main counter | in its registers (QEMU: 100 MHz) | 64, 32 | a load |
 * | ACPI PM timer | 3.579545 MHz | 24 or 32 | an `in` |
 * | PIT channel 2 | 1.193182 MHz | 16 | three port accesses |
 *
 * The kernel calibrates against the first of these that the machine
 * has, in this order, and measures the others against it (the self-test
 * `clock_references_agree`):
 *
 * 1. **The HPET** first: the finest ticks, a counter that does not
 *    wrap, and the cheapest read. But it may be missing: firmware can
 *    hide it, and `-machine q35,hpet=off` removes it.
 * 2. **The ACPI PM timer** next: always there on the PCs this kernel
 *    targets (a hardware-reduced ACPI platform has none), and its
 *    24-bit counter wraps only every 4.7 s, far longer than a
 *    calibration. Each read is a port access, slower than the HPET's.
 * 3. **PIT channel 2** last: every PC had one, but its 16-bit counter
 *    wraps every 55 ms, each read is three port accesses, and newer
 *    chipsets may switch it off to save power.
 *
 * What one read costs is measured at every boot and printed (`one
 * read ... TSC ticks`). Under QEMU all three cost a few hundred TSC
 * ticks, a fraction of a microsecond, because QEMU emulates a port
 * and a device register the same way; the order above rests on the
 * counters' widths and on which clocks a machine may lack.
 *
 * ## Measuring so that the host cannot spoil it
 *
 * Under QEMU the guest does not own a CPU: the host may stop its
 * thread at any moment, for milliseconds. That cannot stretch the
 * measurement itself, because every clock here follows the host's real
 * time, stopped or not. What it can spoil is a *reading*: if the host
 * stops the guest between the `rdtsc` and the reference read that
 * should go with it, the pair is wrong. So each end of a measurement
 * reads the TSC, the timer and the reference, then the TSC again, five
 * times, and keeps the tightest of the five (the smallest TSC gap),
 * with the TSC taken halfway. Linux calibrates its TSC the same way.
 *
 * ## What the kernel gets
 *
 * - `clock_ns()`: nanoseconds since calibration, from the TSC.
 * - `udelay(us)`, `mdelay(ms)`: wait at least that long, spinning on
 *   the TSC. smp.c needs them for the delays of the CPU start-up
 *   sequence, and its time limits; chapter 08 programs the
 *   local APIC timer from `clock_lapic_hz()`.
 *
 * The TSC is per CPU. This kernel assumes that all CPUs' TSCs run at
 * the same rate and in step, which QEMU guarantees and the invariant
 * TSC flag promises on real hardware (QEMU's CPUs do not set that
 * flag, and the boot log says so).
 *
 * Redox 0.3.5 measures nothing: it programs the HPET or the PIT for a
 * fixed tick of about 2.25 ms on the boot CPU only (with the BCD bit
 * set in the PIT's command byte, by mistake), and leaves the local
 * APIC timer alone.
 */
static struct clock_ref refs[3];
static unsigned nrefs;
static uint64_t tsc_hz, lapic_hz, tsc_at_setup, ns_mult;
static bool ready;

/* IN from a 32-bit port (the PM timer's register). */
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* ---- The HPET (IA-PC HPET specification 1.0a, section 2.3) ---- */

#define HPET_CAP      0x000     /* General Capabilities and ID */
#define HPET_CONF     0x010     /* General Configuration */
#define HPET_COUNTER  0x0F0     /* Main Counter Value */
#define HPET_CAP_64   (1u << 13)  /* COUNT_SIZE_CAP: 64-bit counter */
#define HPET_ENABLE   1u          /* ENABLE_CNF: the counter runs */
#define HPET_MAX_PERIOD 100000000ull  /* fs: 10 MHz at the slowest */

static volatile uint64_t *hpet;
static uint64_t hpet_mask;

static uint64_t hpet_read(void)
{
	return hpet[HPET_COUNTER / 8];
}

/* Map the HPET the ACPI table names, start its counter: its rate, or
 * 0 if there is no usable one. */
static uint64_t hpet_setup(void)
{
	const struct acpi_table *t = acpi_find("HPET");
	struct acpi_hpet h;
	uint64_t cap, period;

	if (t == NULL || acpi_hpet_parse(t->data, t->hdr.length, &h) !=
	    ACPI_OK || (hpet = fw_map_mmio(h.address, 1024)) == NULL)
		return 0;
	cap = hpet[HPET_CAP / 8];
	period = cap >> 32;                     /* femtoseconds per tick */
	if (period == 0 || period > HPET_MAX_PERIOD) {
		kprintf("clock: HPET period %lu fs is invalid; not used\n",
			(unsigned long)period);
		return 0;
	}
	hpet_mask = cap & HPET_CAP_64 ? ~0ull : 0xFFFFFFFFull;
	hpet[HPET_CONF / 8] |= HPET_ENABLE;
	return 1000000000000000ull / period;
}

/* ---- The ACPI PM timer ---- */

static uint16_t pm_port;
static uint64_t pm_mask;

static uint64_t pm_read(void)
{
	return inl(pm_port) & pm_mask;
}

static bool pm_setup(void)
{
	const struct acpi_table *t = acpi_find("FACP");
	struct acpi_pm_timer pm;
	int err;

	if (t == NULL)
		return false;
	err = acpi_fadt_pm_timer(t->data, t->hdr.length, &pm);
	if (err != ACPI_OK) {
		kprintf("clock: no ACPI PM timer (%s)\n", acpi_strerror(err));
		return false;
	}
	pm_port = pm.port;
	pm_mask = pm.bits == 32 ? 0xFFFFFFFFull : 0xFFFFFFull;
	return true;
}

/* ---- PIT channel 2 (Intel 8254 data sheet) ---- */

#define PIT_CH2          0x42
#define PIT_CMD          0x43
#define PIT_PORT_B       0x61    /* bit 0 gate 2, bit 1 speaker, bit 5
                                    OUT2 */
#define PIT_CH2_MODE0    0xB0    /* channel 2, low then high byte,
                                    mode 0, binary (not BCD) */
#define PIT_CH2_LATCH    0x80    /* latch channel 2's count */
#define PIT_HZ           1193182u

/* Count down from 0xFFFF in mode 0: OUT2 goes high when the count
 * passes 0, which is how an overlong measurement shows. */
static void pit_start(void)
{
	outb(PIT_PORT_B, (inb(PIT_PORT_B) & ~0x02) | 0x01); /* gate on,
	                                                      speaker off */
	outb(PIT_CMD, PIT_CH2_MODE0);
	outb(PIT_CH2, 0xFF);
	outb(PIT_CH2, 0xFF);
}

/* Ticks since pit_start(): the count goes down, this goes up. */
static uint64_t pit_read(void)
{
	uint8_t lo, hi;

	outb(PIT_CMD, PIT_CH2_LATCH);
	lo = inb(PIT_CH2);
	hi = inb(PIT_CH2);
	return (uint16_t)(0xFFFF - (hi << 8 | lo));
}

static bool pit_overran(void)
{
	return inb(PIT_PORT_B) & 0x20;
}

/**
 * ## Measuring, step by step
 *
 * `clock_measure(r, ms, ...)`, with the local APIC timer counting down
 * (masked, from 0xFFFFFFFF):
 *
 * 1. `start` the reference if it needs it (the PIT).
 * 2. Read the TSC, the timer and the reference at once (`sample`).
 * 3. Wait, reading the reference, until ms milliseconds of it passed.
 * 4. Read all three again.
 * 5. Rate = ticks counted / reference ticks * the reference's rate, in
 *    128-bit arithmetic (a 2 GHz TSC times a 100 MHz HPET overflows 64
 *    bits).
 */
struct sample {
	uint64_t tsc, ref;
	uint32_t lapic;
};

static uint64_t sample(const struct clock_ref *r, struct sample *s)
{
	uint64_t best = ~0ull;

	for (int i = 0; i < 5; i++) {
		uint64_t a = rdtsc();
		uint32_t l = lapic_timer_count();
		uint64_t x = r->read();
		uint64_t b = rdtsc();

		if (b - a < best) {
			best = b - a;
			*s = (struct sample){ a + (b - a) / 2, x, l };
		}
	}
	return best;
}

/* DIV: the 128-bit number hi:lo divided by d. The quotient must fit
 * in 64 bits, that is hi < d, or the CPU raises #DE. (gcc would call
 * libgcc's __udivti3 for a 128-bit division in C, and the kernel has
 * no libgcc.) */
static inline uint64_t div128(uint64_t hi, uint64_t lo, uint64_t d)
{
	uint64_t q, r;

	__asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(d));
	return q;
}

/* count * hz / ticks without overflow; UINT64_MAX if it does not fit
 * (or ticks is 0). */
static uint64_t scale(uint64_t count, uint64_t hz, uint64_t ticks)
{
	unsigned __int128 p = (unsigned __int128)count * hz;

	if (ticks == 0 || (uint64_t)(p >> 64) >= ticks)
		return UINT64_MAX;
	return div128((uint64_t)(p >> 64), (uint64_t)p, ticks);
}

bool clock_measure(const struct clock_ref *r, uint64_t ms,
		   uint64_t *tsc_rate, uint64_t *lapic_rate)
{
	uint64_t want = r->hz * ms / 1000, got;
	struct sample s0, s1;

	if (r->start)                                            /* 1. */
		r->start();
	sample(r, &s0);                                          /* 2. */
	while (((r->read() - s0.ref) & r->mask) < want)          /* 3. */
		cpu_relax();
	sample(r, &s1);                                          /* 4. */
	if (r->overran && r->overran())
		return false;
	got = (s1.ref - s0.ref) & r->mask;                       /* 5. */
	*tsc_rate = scale(s1.tsc - s0.tsc, r->hz, got);
	*lapic_rate = scale(s0.lapic - s1.lapic, r->hz, got);
	return true;
}

uint64_t clock_sample(const struct clock_ref *r, uint64_t *tsc,
		      uint64_t *ref)
{
	struct sample s;
	uint64_t gap = sample(r, &s);

	*tsc = s.tsc;
	*ref = s.ref;
	return gap;
}

uint64_t clock_tsc_ns(uint64_t ticks)
{
	return scale(ticks, 1000000000ull, tsc_hz);
}

uint64_t clock_ns_of_lapic(uint64_t counts)
{
	return scale(counts, 1000000000ull, lapic_hz);
}

uint64_t clock_ref_ns(const struct clock_ref *r, uint64_t from,
		      uint64_t to)
{
	return scale((to - from) & r->mask, 1000000000ull, r->hz);
}

/* Add a reference, and measure what one read costs: the fastest of
 * five, in TSC ticks. */
static void add_ref(const char *name, uint64_t hz, uint64_t mask,
		    uint64_t (*read)(void), void (*start)(void),
		    bool (*overran)(void), uint64_t max_ms)
{
	struct clock_ref *r = &refs[nrefs++];

	*r = (struct clock_ref){ name, hz, mask, read, start, overran,
				 max_ms, ~0ull };
	if (start)
		start();
	for (int i = 0; i < 5; i++) {
		uint64_t a = rdtsc(), b;

		read();
		b = rdtsc();
		if (b - a < r->read_cycles)
			r->read_cycles = b - a;
	}
}

static void print_mhz(uint64_t hz)
{
	uint64_t khz = (hz + 500) / 1000;

	kprintf("%lu.%03lu MHz", (unsigned long)(khz / 1000),
		(unsigned long)(khz % 1000));
}

/**
 * ## Setting it up
 *
 * 1. Find the references, best first: the HPET (from its ACPI table),
 *    the PM timer (from the FADT), PIT channel 2 (always assumed).
 *    Each is read five times to measure what a read costs.
 * 2. Start the local APIC timer counting down from 0xFFFFFFFF,
 *    masked, so that it counts without interrupting.
 * 3. Measure the TSC and the timer over 50 ms of the best reference
 *    (40 ms of the PIT's, which wraps at 55 ms), and print the rates.
 *    A measurement that overran (the guest stopped for longer than the
 *    PIT's 55 ms) is tried again, up to five times.
 * 4. Stop the timer, and compute `ns_mult`, nanoseconds per TSC tick
 *    as a 32.32 fixed-point number, for clock_ns().
 *
 * Precondition: the boot CPU, interrupts off, lapic_setup() and
 * acpi_setup() done.
 */
void clock_setup(void)
{
	const struct clock_ref *best;
	uint64_t hz;
	bool ok = false;

	if ((hz = hpet_setup()) != 0)                            /* 1. */
		add_ref("HPET", hz, hpet_mask, hpet_read, NULL, NULL, 1000);
	if (pm_setup())
		add_ref("ACPI PM timer", ACPI_PM_TIMER_HZ, pm_mask, pm_read,
			NULL, NULL, 1000);
	add_ref("PIT", PIT_HZ, 0xFFFF, pit_read, pit_start, pit_overran,
		40);
	best = &refs[0];
	for (unsigned i = 0; i < nrefs; i++) {
		kprintf("clock: %s ", refs[i].name);
		print_mhz(refs[i].hz);
		kprintf(", %u bits, one read %lu TSC ticks%s\n",
			64 - __builtin_clzll(refs[i].mask),
			(unsigned long)refs[i].read_cycles,
			i == 0 ? " (the reference)" : "");
	}
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_LAPIC_TIMER); /* 2. */
	lapic_write(LAPIC_TIMER_INIT, 0xFFFFFFFF);
	for (int i = 0; i < 5 && !ok; i++)                       /* 3. */
		ok = clock_measure(best, best->max_ms < 50 ? best->max_ms : 50,
				   &tsc_hz, &lapic_hz);
	lapic_timer_stop();                                      /* 4. */
	if (!ok || tsc_hz == 0 || lapic_hz == 0)
		panic("clock: calibration against the %s failed", best->name);
	ns_mult = scale(1000000000ull, 1ull << 32, tsc_hz);
	tsc_at_setup = rdtsc();
	ready = true;
	kprintf("clock: TSC ");
	print_mhz(tsc_hz);
	kprintf(" (%s), LAPIC timer ",
		cpuid(0x80000000, 0).eax >= 0x80000007 &&
		(cpuid(0x80000007, 0).edx & (1u << 8)) ? "invariant"
						       : "not invariant");
	print_mhz(lapic_hz);
	kprintf(" (/%u)\n", LAPIC_TIMER_DIVISOR);
}

bool clock_ready(void)
{
	return ready;
}

uint64_t clock_ns(void)
{
	if (!ready)
		return 0;
	return (uint64_t)(((unsigned __int128)(rdtsc() - tsc_at_setup) *
			   ns_mult) >> 32);
}

void udelay(uint64_t us)
{
	uint64_t end;

	if (!ready)
		panic("udelay before clock_setup()");
	end = rdtsc() + scale(us, tsc_hz, 1000000);
	while (rdtsc() < end)
		cpu_relax();
}

void mdelay(uint64_t ms)
{
	udelay(ms * 1000);
}

bool clock_wait_change(const volatile uint64_t *counter, uint64_t old,
		       uint64_t ms)
{
	uint64_t end = clock_ns() + ms * 1000000;

	sti();
	while (*counter == old && clock_ns() < end)
		cpu_relax();
	cli();
	return *counter != old;
}

uint64_t clock_tsc_hz(void)
{
	return tsc_hz;
}

uint64_t clock_lapic_hz(void)
{
	return lapic_hz;
}

unsigned clock_ref_count(void)
{
	return nrefs;
}

const struct clock_ref *clock_ref_get(unsigned i)
{
	return i < nrefs ? &refs[i] : NULL;
}
