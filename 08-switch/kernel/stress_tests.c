/*
 * stress_tests.c: every CPU at once allocates and frees frames and
 * heap objects, maps and unmaps pages and counts under a lock, with
 * exact totals at the end; and the benchmarks of the start-up and of
 * the lock.
 */
#include "clock.h"
#include "frame.h"
#include "heap.h"
#include "intr.h"
#include "kprintf.h"
#include "ktest.h"
#include "paging.h"
#include "percpu.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "vm.h"
#include "x86.h"

/**
 * ## The stress test
 *
 * Every online CPU runs the same random mix at once, each with its own
 * random numbers:
 *
 * - frames: frame_alloc() runs of 1 to 4 frames (up to 8 held), each
 *   stamped in its first word with the CPU and a serial number, checked
 *   when it is freed: a frame handed to two CPUs at once would carry
 *   the other's stamp;
 * - heap: kmalloc() of 1 byte to 4 KiB, now and then 20 KiB (up to 16
 *   held), stamped at both ends, checked at kfree();
 * - pages: map a fresh frame at an address of this CPU's own, write
 *   and read it back, unmap it (a shootdown to every other CPU) and
 *   free the frame; every CPU's page shares the same page tables;
 * - counting: one addition to a shared counter under one lock, and to
 *   this CPU's own count.
 *
 * At the end everything is freed, and the totals must be exact: the
 * counter equals the sum of the CPUs' counts, no stamp was wrong, the
 * heap holds no object, and after heap_trim() the frame allocator has
 * exactly as many frames in use as before (the pages, the tables the
 * mapper made for them, the heap's growth: all returned). The work is
 * a fixed budget of operations shared among the CPUs, at least 16 each.
 *
 * With more than MANY_CPUS CPUs the mix is lighter: a quarter of the
 * budget, objects of at most 256 bytes, half as many held, an eighth
 * of the page operations. The
 * reason is the host, and it is worth knowing: under QEMU each CPU is
 * a host thread, and 255 of them share this machine's two cores. A
 * fair lock hands itself to the *next* CPU in line, which is likely
 * not running; each hand-over then waits for the host to wake that
 * thread, and a lock taken inside another lock (frames inside the
 * heap's growth) multiplies the wait: the queue convoys. A page
 * operation costs a shootdown that every other CPU must answer, about
 * 12 ms with 254 others (`bench_shootdown`). Real hardware runs each
 * CPU on its own core, and the same queue moves in microseconds.
 *
 * Then a *fairness* phase: every CPU takes and releases one lock as
 * often as it can for 50 ms, and the test prints the most and the
 * fewest acquisitions any CPU made. A fair lock serves CPUs in turn, so
 * the ratio stays near 1 (`bench_locks` compares it with test-and-set).
 */
#define STRESS_VA 0xFFFFFD0100000000ull  /* PML4 slot 506, above the
                                            TLB self-test's page */
#define HELD_FRAMES 8
#define HELD_OBJECTS 16
#define RESERVE_BYTES (1u << 20)          /* what the heap keeps mapped */

static struct stress_cpu {
	uint64_t ops, frames, objects, pages, counted;
	uint64_t bad;                  /* stamps found wrong */
	uint64_t no_memory;            /* allocations refused */
	uint64_t acquired;             /* in the fairness phase */
} __attribute__((aligned(64))) per_cpu[CPU_MAX];

static struct spinlock stress_lock = SPINLOCK_INIT("stress counter");
static volatile uint64_t shared_count;
static uint64_t ops_each;
static bool many;                  /* more than MANY_CPUS CPUs: lighter */

/* With more CPUs than this, the mix is lighter (see stress()). */
#define MANY_CPUS 16
static volatile int fair_stop;

/* A test-and-set lock, chapter 05's, for comparison (bench_locks):
 * interrupts off as spin_lock() does, no checks, no counters. */
static volatile uint32_t tas_word;

static bool tas_lock(void)
{
	bool was_on = intr_enabled();

	cli();
	while (__atomic_exchange_n(&tas_word, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&tas_word, __ATOMIC_RELAXED))
			cpu_relax();
	return was_on;
}

static void tas_unlock(bool was_on)
{
	__atomic_store_n(&tas_word, 0, __ATOMIC_RELEASE);
	if (was_on)
		sti();
}

static uint64_t next_random(uint64_t *s)   /* xorshift64* */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static uint64_t stamp(unsigned cpu, uint64_t serial)
{
	return (uint64_t)cpu << 48 | serial;
}

struct held {
	uint64_t where, stamp;      /* a frame's address, an object's */
	uint32_t count;             /* frames, or bytes */
};

static void frame_op(struct stress_cpu *s, struct held *f, uint64_t r,
		     unsigned me)
{
	struct held *h = &f[r % (many ? HELD_FRAMES / 2 : HELD_FRAMES)];

	if (h->count) {
		if (*(volatile uint64_t *)phys_to_virt(h->where) != h->stamp)
			s->bad++;
		frame_free(h->where, h->count);
		h->count = 0;
		return;
	}
	h->count = 1 + (uint32_t)(r >> 8) % 4;
	if (frame_alloc(h->count, &h->where) != 0) {
		s->no_memory++;
		h->count = 0;
		return;
	}
	h->stamp = stamp(me, s->ops);
	*(volatile uint64_t *)phys_to_virt(h->where) = h->stamp;
	s->frames++;
}

static void heap_op(struct stress_cpu *s, struct held *o, uint64_t r,
		    unsigned me)
{
	struct held *h = &o[r % (many ? HELD_OBJECTS / 2 : HELD_OBJECTS)];
	uint64_t *p;

	if (h->count) {
		p = (uint64_t *)h->where;
		if (p[0] != h->stamp || p[h->count / 8 - 1] != ~h->stamp)
			s->bad++;
		kfree(p);
		h->count = 0;
		return;
	}
	h->count = many ? 16 + 8 * (uint32_t)((r >> 16) % 30)
		   : (r >> 8) % 64 == 0 ? 20480
		   : 16 + 8 * (uint32_t)((r >> 16) % 510);
	p = kmalloc(h->count);
	if (p == NULL) {
		s->no_memory++;
		h->count = 0;
		return;
	}
	h->where = (uint64_t)p;
	h->stamp = stamp(me, s->ops);
	p[0] = h->stamp;
	p[h->count / 8 - 1] = ~h->stamp;
	s->objects++;
}

static void page_op(struct stress_cpu *s, unsigned me)
{
	uint64_t va = STRESS_VA + (uint64_t)me * 2 * PAGE_SIZE, pa, back;
	volatile uint64_t *p = (volatile uint64_t *)va;

	if (frame_alloc(1, &pa) != 0) {
		s->no_memory++;
		return;
	}
	if (page_map(kernel_pml4, va, pa, PTE_W | PTE_G | PTE_NX) != 0) {
		s->no_memory++;
		frame_free(pa, 1);
		return;
	}
	*p = stamp(me, s->ops);
	if (*p != stamp(me, s->ops))
		s->bad++;
	if (page_unmap(kernel_pml4, va, &back) != 0 || back != pa)
		s->bad++;
	frame_free(pa, 1);
	s->pages++;
}

static void stress_work(void *arg)
{
	unsigned me = this_cpu()->index;
	struct stress_cpu *s = &per_cpu[me];
	struct held frames[HELD_FRAMES], objects[HELD_OBJECTS];
	uint64_t rng = 0x9E3779B97F4A7C15ull * (me + 1);

	(void)arg;
	memset(s, 0, sizeof *s);
	memset(frames, 0, sizeof frames);
	memset(objects, 0, sizeof objects);
	for (s->ops = 0; s->ops < ops_each; s->ops++) {
		uint64_t r = next_random(&rng);

		switch (r % 8) {
		case 0: case 1: case 2:
			frame_op(s, frames, r >> 3, me);
			break;
		case 3: case 4: case 5:
			heap_op(s, objects, r >> 3, me);
			break;
		case 6:
			if (!many || (r >> 3) % 8 == 0)
				page_op(s, me);
			break;
		default:
			spin_lock(&stress_lock);
			shared_count = shared_count + 1;
			spin_unlock(&stress_lock);
			s->counted++;
		}
	}
	for (int i = 0; i < HELD_FRAMES; i++)
		if (frames[i].count)
			frame_op(s, frames, (uint64_t)i, me);
	for (int i = 0; i < HELD_OBJECTS; i++)
		if (objects[i].count)
			heap_op(s, objects, (uint64_t)i, me);
}

/* The fairness phase: every CPU starts at once (smp_run_all()), CPU 0
 * keeps the time. With arg NULL the ticket lock, otherwise the
 * test-and-set lock. */
static uint64_t fair_ns;

static void fair_work(void *arg)
{
	struct cpu *c = this_cpu();
	struct stress_cpu *s = &per_cpu[c->index];
	uint64_t end = 0;

	s->acquired = 0;
	if (c->index == 0)
		end = clock_ns() + fair_ns;
	while (!fair_stop) {
		if (arg == NULL) {
			spin_lock(&stress_lock);
			shared_count = shared_count + 1;
			spin_unlock(&stress_lock);
		} else {
			bool on = tas_lock();

			shared_count = shared_count + 1;
			tas_unlock(on);
		}
		s->acquired++;
		if (c->index == 0 && clock_ns() >= end)
			fair_stop = 1;
	}
}

/* The fairness figures: acquisitions, max/min over the CPUs. */
static void fairness(uint64_t ms, bool tas, uint64_t *lo, uint64_t *hi,
		     uint64_t *all)
{
	fair_ns = ms * 1000000;
	fair_stop = 0;
	smp_run_all(fair_work, tas ? (void *)1 : NULL);
	*lo = UINT64_MAX;
	*hi = *all = 0;
	for (unsigned i = 0; i < cpu_count(); i++) {
		uint64_t a = per_cpu[i].acquired;

		if (cpu_get(i)->state != CPU_ONLINE)
			continue;
		*all += a;
		if (a < *lo)
			*lo = a;
		if (a > *hi)
			*hi = a;
	}
}

static const char *stress(uint64_t budget)
{
	unsigned n = smp_online();
	uint64_t base, sum = 0, bad = 0, refused = 0, lo, hi, all;
	uint64_t frames = 0, objects = 0, pages = 0;
	uint64_t t0, ms;
	struct heap_stats hs;

	page_op(&per_cpu[this_cpu()->index], this_cpu()->index);
	heap_trim();                  /* the baseline: after the first page */
	base = frame_used_count();    /* op made the PDPT (never freed) */
	kfree(kmalloc(RESERVE_BYTES)); /* the heap's reserve, grown here */
	shared_count = 0;
	many = n > MANY_CPUS;
	ops_each = (many ? budget / 4 : budget) / n;
	if (ops_each < 16)
		ops_each = 16;
	t0 = clock_ns();
	smp_run_all(stress_work, NULL);
	ms = (clock_ns() - t0) / 1000000;
	for (unsigned i = 0; i < cpu_count(); i++) {
		struct stress_cpu *s = &per_cpu[i];

		if (cpu_get(i)->state != CPU_ONLINE)
			continue;
		sum += s->counted;
		bad += s->bad;
		refused += s->no_memory;
		frames += s->frames;
		objects += s->objects;
		pages += s->pages;
	}
	heap_get_stats(&hs);
	kprintf("stress: %u CPUs x %lu operations in %lu ms: %lu frame "
		"runs, %lu objects, %lu pages mapped and unmapped, %lu "
		"additions\n", n, (unsigned long)ops_each, (unsigned long)ms,
		(unsigned long)frames, (unsigned long)objects,
		(unsigned long)pages, (unsigned long)sum);
	if (shared_count != sum)
		return ktest_why("the counter says %lu, the CPUs added %lu",
				 (unsigned long)shared_count,
				 (unsigned long)sum);
	if (bad)
		return ktest_why("%lu stamps wrong: memory given to two "
				 "CPUs at once", (unsigned long)bad);
	if (refused)
		return ktest_why("%lu allocations refused",
				 (unsigned long)refused);
	if (hs.objects != 0)
		return ktest_why("%lu heap objects left",
				 (unsigned long)hs.objects);
	heap_trim();
	if (frame_used_count() != base)
		return ktest_why("%lu frames in use, %lu before",
				 (unsigned long)frame_used_count(),
				 (unsigned long)base);
	fairness(50, false, &lo, &hi, &all);
	kprintf("stress: frames and heap back to the baseline (%lu frames "
		"used); lock fairness over 50 ms: %lu acquisitions, per CPU "
		"%lu to %lu (max/min %lu.%02lu)\n", (unsigned long)base,
		(unsigned long)all, (unsigned long)lo, (unsigned long)hi,
		(unsigned long)(lo ? hi / lo : 0),
		(unsigned long)(lo ? hi * 100 / lo % 100 : 0));
	return lo == 0 ? "a CPU never got the lock in the fairness phase"
		       : NULL;
}

/* Its budget: STRESS_OPS; a quarter of it in the scenario `cpus`,
 * which the machine matrix of tests/smp.tests boots on 18 machines (1
 * to 64 CPUs, pc and q35, two sockets, hot-plug slots): there it
 * checks that every topology shares memory correctly (400 page
 * mappings and their shootdowns among 8 CPUs), while the full stress
 * runs in the `boot` scenario on 4 CPUs and five times longer in
 * stress_long. On this host the quarter saved 9 of the matrix's 80
 * CPU-seconds. */
#define STRESS_OPS 12000

SELFTEST(stress_every_cpu_at_once)
{
	bool matrix = strcmp(ktest_scenario_name(), "cpus") == 0;

	return stress(matrix ? STRESS_OPS / 4 : STRESS_OPS);
}

SCENARIO(stress_long, "the stress test, five times longer")
{
	ktest_report("stress_long", stress(5 * STRESS_OPS));
}

/**
 * ## The lock's cost, against test-and-set
 *
 * `bench_locks` times, on CPU 0 alone, a lock and an unlock of
 * spin_lock() (the ticket lock, with its checks and counters) and of a
 * bare test-and-set lock, chapter 05's; then lets every CPU contend
 * for each of the two for 200 ms and prints the throughput and the
 * most and fewest acquisitions per CPU. Figures, never a verdict: the
 * host decides them (README, "Benchmarks").
 */
static void ratio(char *buf, size_t len, uint64_t lo, uint64_t hi)
{
	if (lo == 0)
		ksnprintf(buf, len, "%lu/0: a CPU starved",
			  (unsigned long)hi);
	else
		ksnprintf(buf, len, "%lu.%02lu", (unsigned long)(hi / lo),
			  (unsigned long)(hi * 100 / lo % 100));
}

SCENARIO(bench_locks, "ticket lock against test-and-set: cost, fairness")
{
	static struct spinlock alone = SPINLOCK_INIT("bench");
	const int n = 200000;
	uint64_t t, ticket, tas, lo, hi, all;
	char r[2][48];

	t = rdtsc();
	for (int i = 0; i < n; i++) {
		spin_lock(&alone);
		spin_unlock(&alone);
	}
	ticket = (rdtsc() - t) / n;
	t = rdtsc();
	for (int i = 0; i < n; i++)
		tas_unlock(tas_lock());
	tas = (rdtsc() - t) / n;
	kprintf("BENCH lock+unlock on one CPU, TSC ticks: ticket lock "
		"%lu, test-and-set %lu\n", (unsigned long)ticket,
		(unsigned long)tas);
	fairness(200, false, &lo, &hi, &all);
	ratio(r[0], sizeof r[0], lo, hi);
	kprintf("BENCH %u CPUs contending for 200 ms: ticket lock %lu "
		"acquisitions/s, per CPU max/min %s\n", smp_online(),
		(unsigned long)(all * 5), r[0]);
	fairness(200, true, &lo, &hi, &all);
	ratio(r[1], sizeof r[1], lo, hi);
	kprintf("BENCH %u CPUs contending for 200 ms: test-and-set %lu "
		"acquisitions/s, per CPU max/min %s\n", smp_online(),
		(unsigned long)(all * 5), r[1]);
	ktest_report("bench_locks", NULL);
}
