/*
 * heap_tests.c: the heap's self-tests inside the kernel, run by the
 * "boot" scenario on every machine of the test matrix (16 MiB to
 * 6 GiB); scenarios that misuse the heap and the lock on purpose, or
 * exhaust memory; and the in-kernel benchmark.
 */
#include "frame.h"
#include "heap.h"
#include "kprintf.h"
#include "ksyms.h"
#include "ktest.h"
#include "spinlock.h"
#include "x86.h"

/**
 * ## The heap on the real machine
 *
 * The host tests check the heap against a model, with simulated page
 * tables. These tests run it on the kernel's own tables and frames,
 * and hold it to the promise the host tests can only simulate: after a
 * workload has freed everything and `heap_trim()` has released the
 * reserve, the frame allocator has exactly as many free frames as
 * before the workload began. Every page the heap mapped was unmapped;
 * every page table the mapper made for the heap was freed again (the
 * mapper frees tables that become empty).
 *
 * Each test starts by trimming the heap, reads the *baseline*,
 * `frame_used_count()`, and compares at the end. The reserve the boot
 * mapped is not part of the baseline: the first allocation grows the
 * heap again.
 */
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)   /* xorshift64*, as the host tests use */
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

/* The heap after heap_trim() holds no frame: the baseline. */
static uint64_t baseline(void)
{
	heap_trim();
	return frame_used_count();
}

/* Mark an object: its first and last byte, so a test touches at most
 * two pages of it (see frame_tests.c on what touching costs QEMU). */
static void mark(uint8_t *p, size_t size)
{
	if (size > 0)
		p[0] = (uint8_t)(uintptr_t)p;
	if (size > 1)
		p[size - 1] = (uint8_t)((uintptr_t)p >> 8);
}

static bool marked(const uint8_t *p, size_t size)
{
	return (size == 0 || p[0] == (uint8_t)(uintptr_t)p) &&
	       (size < 2 || p[size - 1] == (uint8_t)((uintptr_t)p >> 8));
}

/* The end of a test: everything freed, the frames exactly back. */
static const char *back_to(uint64_t base, const char *what)
{
	struct heap_stats s;

	heap_get_stats(&s);
	if (s.objects != 0)
		return ktest_why("%s: %lu objects left", what,
				 (unsigned long)s.objects);
	heap_trim();
	heap_get_stats(&s);
	if (frame_used_count() != base || s.data_pages || s.desc_pages)
		return ktest_why("%s: %lu frames used, %lu before; the heap "
				 "holds %lu + %lu pages", what,
				 (unsigned long)frame_used_count(),
				 (unsigned long)base,
				 (unsigned long)s.data_pages,
				 (unsigned long)s.desc_pages);
	return NULL;
}

/**
 * ### Random work across growth boundaries
 *
 * 20,000 operations: kmalloc, kmalloc_aligned, kcalloc, krealloc and
 * kfree of objects from 0 bytes to 64 KiB, with up to 600 alive at a
 * time, so the heap grows and shrinks through many megabytes.
 */
#define LIVE 600
static struct { uint8_t *p; size_t size; } live[LIVE];

static size_t random_size(void)
{
	return below(50) == 0 ? 0 : 1 + below(1ull << below(17));
}

static const char *one_op(size_t *n)
{
	size_t size = random_size(), i;
	uint64_t r = below(100);
	uint8_t *p;

	if (*n > 0 && (*n == LIVE || r < 45)) {          /* free one */
		i = below(*n);
		if (!marked(live[i].p, live[i].size))
			return ktest_why("object %p damaged",
					 (void *)live[i].p);
		kfree(live[i].p);
		live[i] = live[--*n];
		return NULL;
	}
	if (r < 80) {
		p = kmalloc(size);
	} else if (r < 88) {
		size_t align = 1ull << (3 + below(10));

		p = kmalloc_aligned(size, align);
		if (p && (uintptr_t)p % align)
			return ktest_why("%p not aligned to %lu", (void *)p,
					 (unsigned long)align);
	} else if (r < 92) {
		p = kcalloc(1, size);
		for (size_t k = 0; p && k < size; k += 1 + k)
			if (p[k])
				return "kcalloc memory not zero";
	} else if (*n > 0) {                               /* resize one */
		i = below(*n);
		p = krealloc(live[i].p, size);
		if (p == NULL)
			return "krealloc failed";
		if (size && live[i].size && p[0] != (uint8_t)(uintptr_t)
		    live[i].p)
			return "krealloc lost the first byte";
		live[i] = live[--*n];
	} else {
		p = kmalloc(size);
	}
	if (p == NULL)
		return ktest_why("kmalloc(%lu) failed", (unsigned long)size);
	if ((uintptr_t)p % 16 || (uintptr_t)p < HEAP_BASE ||
	    (uintptr_t)p + size > HEAP_BASE + HEAP_WINDOW)
		return ktest_why("kmalloc(%lu) = %p", (unsigned long)size,
				 (void *)p);
	mark(p, size);
	live[*n].p = p;
	live[(*n)++].size = size;
	return NULL;
}

SELFTEST(heap_random_work_frames_return)
{
	uint64_t base = baseline(), grew, shrank;
	static struct heap_stats before, after;  /* static: 1 KiB frame limit */
	const char *why = NULL;
	size_t n = 0;

	heap_get_stats(&before);
	for (int op = 0; op < 20000 && !why; op++)
		why = one_op(&n);
	while (n > 0)
		kfree(live[--n].p);
	heap_get_stats(&after);
	grew = after.grows - before.grows;
	shrank = after.shrinks - before.shrinks;
	if (!why && (grew < 5 || shrank < 5))
		why = ktest_why("grew %lu and shrank %lu times",
				(unsigned long)grew, (unsigned long)shrank);
	if (!why)
		why = back_to(base, "random work");
	if (!why)
		kprintf("heap: 20000 random operations; grew %lu times, "
			"shrank %lu times; frames back to %lu used\n",
			(unsigned long)grew, (unsigned long)shrank,
			(unsigned long)base);
	return why;
}

/**
 * ### Growing by 64 MiB, and back
 *
 * 64 KiB objects until the heap has grown by 64 MiB (on a machine with
 * less than 160 MiB free, by half of what is free), freed in random
 * order: then the frames must be exactly back. That is about 960
 * objects of 17 pages each (64 KiB and the trailer of the debug
 * checks), some 16,400 pages mapped and unmapped.
 */
#define BIG_OBJECTS 1100
static uint8_t *big[BIG_OBJECTS];

SELFTEST(heap_grows_64mib_and_back)
{
	uint64_t base = baseline(), goal = 64ull << 20, grown;
	static struct heap_stats s0, s;  /* static: 1 KiB frame limit */
	size_t n = 0;
	const char *why;

	if (frame_free_count() < (160ull << 20) / FRAME_SIZE)
		goal = frame_free_count() * FRAME_SIZE / 2;
	heap_get_stats(&s0);
	do {
		big[n] = kmalloc(64 << 10);
		if (big[n] == NULL)
			break;
		mark(big[n++], 64 << 10);
		heap_get_stats(&s);
	} while (s.data_pages * FRAME_SIZE < goal && n < BIG_OBJECTS);
	grown = s.data_pages * FRAME_SIZE;
	for (size_t i = n; i > 1; i--) {            /* a random order */
		size_t j = below(i);
		uint8_t *t = big[i - 1];

		big[i - 1] = big[j];
		big[j] = t;
	}
	why = grown < goal ? ktest_why("grew only to %lu KiB",
				       (unsigned long)(grown >> 10)) : NULL;
	for (size_t i = 0; i < n; i++) {
		if (!why && !marked(big[i], 64 << 10))
			why = ktest_why("object %p damaged", (void *)big[i]);
		kfree(big[i]);
	}
	heap_get_stats(&s);
	if (!why)
		why = back_to(base, "64 MiB");
	if (!why)
		kprintf("heap: grew to %lu MiB in %lu steps and shrank in %lu;"
			" frames back to %lu used\n",
			(unsigned long)(grown >> 20),
			(unsigned long)(s.grows - s0.grows),
			(unsigned long)(s.shrinks - s0.shrinks),
			(unsigned long)base);
	return why;
}

/* kmalloc(0) gives distinct pointers; kfree(NULL) is harmless; every
 * alignment up to a page is honoured; bad ones get NULL. */
SELFTEST(heap_defined_results)
{
	uint64_t base = baseline();
	uint8_t *a = kmalloc(0), *b = kmalloc(0);
	const char *why = NULL;

	kfree(NULL);
	if (a == NULL || b == NULL || a == b)
		why = "kmalloc(0) did not give two distinct objects";
	kfree(a);
	kfree(b);
	for (size_t align = 1; align <= 4096 && !why; align *= 2) {
		uint8_t *p = kmalloc_aligned(100, align);

		if (p == NULL || (uintptr_t)p % align)
			why = ktest_why("kmalloc_aligned(100, %lu) = %p",
					(unsigned long)align, (void *)p);
		kfree(p);
	}
	if (!why && kmalloc_aligned(100, 8192) != NULL)
		why = "an alignment of 8192 was accepted";
	if (!why && kcalloc(~0ull / 2, 3) != NULL)
		why = "kcalloc overflow was accepted";
	return why ? why : back_to(base, "defined results");
}

/**
 * ### The lock: nesting and the interrupt flag
 *
 * With interrupts off, taking and releasing two nested locks leaves
 * them off. With interrupts on (safe here: every PIC line is masked),
 * they go off at the first spin_lock() and come back on only at the
 * last spin_unlock().
 */
#define RFLAGS_IF (1ull << 9)

static bool irq_enabled(void)
{
	uint64_t flags;

	__asm__ volatile("pushfq; popq %0" : "=r"(flags));
	return flags & RFLAGS_IF;
}

SELFTEST(spinlock_nests_and_restores_interrupts)
{
	static struct spinlock a = SPINLOCK_INIT("test a");
	static struct spinlock b = SPINLOCK_INIT("test b");
	bool in_a, in_b, after_b, after;

	spin_lock(&a);
	spin_unlock(&a);
	if (irq_enabled() || spin_depth() || preempt_count())
		return "interrupts on, or counts left, after a lock";
	__asm__ volatile("sti");
	spin_lock(&a);
	in_a = irq_enabled();
	spin_lock(&b);
	in_b = irq_enabled() || !spin_held(&a) || !spin_held(&b) ||
	       spin_depth() != 2 || preempt_count() != 2;
	spin_unlock(&b);
	after_b = irq_enabled();
	spin_unlock(&a);
	after = irq_enabled();
	cli();
	if (in_a || in_b || after_b)
		return "interrupts were on inside a lock, or counts wrong";
	if (!after)
		return "interrupts stayed off after the last unlock";
	return spin_held(&a) || spin_depth() ? "the lock is still held"
					     : NULL;
}

/**
 * ## Misuse on purpose
 *
 * Each scenario makes one mistake. The heap must stop the kernel with
 * a message that names the address, the size class and the scenario
 * itself as the caller (tests/heap.tests checks the messages).
 */
SCENARIO(heap_double_free, "kfree an object twice: must panic")
{
	void *keep = kmalloc(100), *p = kmalloc(100);

	kprintf("freeing %p twice\n", p);
	kfree(p);
	kfree(p);
	kprintf("survived a double free\n");
	kfree(keep);
}

SCENARIO(heap_interior_free, "kfree a pointer inside an object: panic")
{
	uint8_t *p = kmalloc(200);

	kprintf("freeing %p, 8 bytes into %p\n", (void *)(p + 8), (void *)p);
	kfree(p + 8);
	kprintf("survived an interior free\n");
}

SCENARIO(heap_foreign_free, "kfree a stack address: must panic")
{
	int local;

	kprintf("freeing %p, on the stack\n", (void *)&local);
	kfree(&local);
	kprintf("survived freeing the stack\n");
}

SCENARIO(heap_overflow, "write past an object, then kfree: panic")
{
	uint8_t *p = kmalloc(24);

	kprintf("writing byte 24 of the 24-byte object %p\n", (void *)p);
	p[24] = 0;
	kfree(p);
	kprintf("survived an overflow\n");
}

SCENARIO(heap_use_after_free, "write to a freed object: kmalloc panics")
{
	uint8_t *keep = kmalloc(60), *p = kmalloc(60);

	kfree(p);
	kprintf("writing byte 40 of %p after kfree\n", (void *)p);
	p[40] = 1;
	p = kmalloc(60);
	kprintf("survived a write after free: %p\n", (void *)p);
	kfree(keep);
}

SCENARIO(lock_taken_twice, "take a spinlock twice: must panic")
{
	static struct spinlock l = SPINLOCK_INIT("twice");

	spin_lock(&l);
	spin_lock(&l);
	kprintf("survived taking a lock twice\n");
}

SCENARIO(lock_released_unheld, "release a free spinlock: must panic")
{
	static struct spinlock l = SPINLOCK_INIT("unheld");

	spin_unlock(&l);
	kprintf("survived releasing a free lock\n");
}

/**
 * ## Until memory runs out
 *
 * `heap_until_null` (run on the 16 MiB machines) allocates 4 KiB
 * objects until kmalloc() returns NULL, tries ten more times, frees
 * everything, and checks that the kernel is healthy: every failure
 * counted (that they make one message only, the host test
 * exhaustion_and_recovery checks), the frames exactly back, and the
 * heap and the frame allocator both working again. The objects are
 * kept on a list through their own first bytes, so the test needs no
 * array as long as memory.
 */
struct taken {
	struct taken *next;
	uint8_t fill[4096 - sizeof(struct taken *)];
};

SCENARIO(heap_until_null, "kmalloc until NULL, free all, carry on")
{
	uint64_t base = baseline(), phys;
	struct taken *list = NULL, *t;
	struct heap_stats s;
	const char *why = NULL;
	size_t n = 0;
	void *again;

	while ((t = kmalloc(sizeof *t)) != NULL) {
		t->next = list;
		list = t;
		mark(t->fill, sizeof t->fill);
		n++;
	}
	for (int i = 0; i < 10; i++)
		if (kmalloc(4096) != NULL)
			why = "kmalloc succeeded after failing";
	heap_get_stats(&s);
	kprintf("heap: %lu objects of 4 KiB, then NULL; %lu KiB mapped, "
		"%lu frames free, %lu failures\n", (unsigned long)n,
		(unsigned long)((s.data_pages + s.desc_pages) * 4),
		(unsigned long)frame_free_count(), (unsigned long)s.failures);
	if (!why && s.failures < 11)
		why = "memory did not run out";
	while ((t = list) != NULL) {
		if (!why && !marked(t->fill, sizeof t->fill))
			why = ktest_why("object %p damaged", (void *)t);
		list = t->next;
		kfree(t);
	}
	if (!why)
		why = back_to(base, "until NULL");
	again = kmalloc(100000);
	if (!why && again == NULL)
		why = "kmalloc fails after memory came back";
	kfree(again);
	if (!why && frame_alloc(1, &phys) != 0)
		why = "the frame allocator has no frame";
	else if (!why)
		frame_free(phys, 1);
	ktest_report("heap_until_null", why);
}

/**
 * ## What a pair costs, in the kernel
 *
 * `bench_heap` keeps 1,000 objects of one size alive and, 20,000
 * times, frees one chosen at random and allocates a new one in its
 * place: the benchmark's "pair" (bench/bench_heap.c). It prints TSC
 * cycles per pair for six sizes, with the debug checks on and then off.
 * Under QEMU's TCG these are emulated cycles; the host benchmark is
 * the measurement, this is a figure to compare runs with.
 */
#define BENCH_LIVE 1000
#define BENCH_PAIRS 20000
static uint8_t *bench_live[BENCH_LIVE];

static uint64_t cycles_per_pair(size_t size)
{
	uint64_t t0, t1;

	for (int i = 0; i < BENCH_LIVE; i++)
		bench_live[i] = kmalloc(size);
	t0 = rdtsc();
	for (int i = 0; i < BENCH_PAIRS; i++) {
		size_t k = below(BENCH_LIVE);

		kfree(bench_live[k]);
		bench_live[k] = kmalloc(size);
	}
	t1 = rdtsc();
	for (int i = 0; i < BENCH_LIVE; i++)
		kfree(bench_live[i]);
	return (t1 - t0) / BENCH_PAIRS;
}

SCENARIO(bench_heap, "cycles per kmalloc+kfree pair (TSC)")
{
	static const size_t sizes[] = { 16, 64, 256, 1024, 4096, 16384 };
	uint64_t base = baseline();

	for (int checks = 1; checks >= 0; checks--) {
		if (heap_set_checks(checks) != 0) {
			ktest_report("bench_heap", "objects still allocated");
			return;
		}
		kprintf("BENCH kmalloc+kfree, debug checks %s, cycles/pair:",
			checks ? "on" : "off");
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
			kprintf(" %lu B %lu%s", (unsigned long)sizes[i],
				(unsigned long)cycles_per_pair(sizes[i]),
				i + 1 < sizeof sizes / sizeof sizes[0] ? ","
								      : "\n");
	}
	heap_set_checks(HEAP_DEBUG);
	ktest_report("bench_heap", back_to(base, "bench"));
}
