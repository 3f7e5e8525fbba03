/*
 * tlb.c: TLB shootdown. After an unmap, every CPU must forget the
 * page before its frame is used again; this file asks them, by an
 * interrupt, and waits until each has answered.
 */
#include "tlb.h"
#include "clock.h"
#include "intr.h"
#include "lapic.h"
#include "paging.h"
#include "panic.h"
#include "percpu.h"
#include "spinlock.h"
#include "trap.h"
#include "x86.h"

/**
 * # TLB shootdown
 *
 * ## Why
 *
 * Each CPU caches translations in its own TLB (paging.c, "Telling the
 * CPU: the TLB"), and INVLPG clears only the TLB of the CPU that
 * executes it. Suppose CPU 0 unmaps a heap page and frees its frame,
 * and CPU 1 used the page a moment ago: CPU 1's TLB still says where
 * the page was, and CPU 1 can go on reading and writing the frame
 * through it, long after the frame has become a page table or another
 * CPU's stack. Nothing faults; memory is corrupted quietly, at a time
 * that depends on what else the TLB held. The self-test
 * `unmapped_page_faults_on_other_cpu` makes this visible: CPU 1 reads
 * a page, CPU 0 unmaps it, and CPU 1's next read must fault, which it
 * does only because of what follows. (Its companion scenario
 * `tlb_stale_without_shootdown` leaves the shootdown out and shows CPU
 * 1 still reading the old frame.)
 *
 * So an unmap, or a change of flags that takes a right away, ends with
 * a *shootdown*: the CPU that changed the tables asks every other CPU
 * to flush the page, and waits until all of them have, before it frees
 * the frame and before it frees any page table the unmap emptied.
 * Redox 0.3.5 has no shootdown at all: its other CPUs keep what they
 * cached.
 *
 * ## How: a mailbox and an interrupt
 *
 * Each CPU's `struct cpu` has a *mailbox*, `tlb_from`: 256 bits, bit i
 * meaning "CPU i asks you to flush". The request itself sits in the
 * asking CPU's own struct: the address `tlb_va`, and `tlb_left`, how
 * many CPUs have not yet answered; for a run of pages (the heap gives
 * back hundreds at once), `tlb_pages` says how many from `tlb_va` on,
 * and one request covers them all. To shoot down va, CPU s
 *
 * 1. turns interrupts off (it must stay on this CPU, and its own
 *    mailbox must not be answered halfway by an interrupt), and
 *    flushes va from its own TLB;
 * 2. picks its targets: every other CPU that is online;
 * 3. writes `tlb_va`, and `tlb_left` = the number of targets;
 * 4. for each target sets bit s in the target's mailbox, with an
 *    atomic OR (several CPUs may write one mailbox at once), and sends
 *    it an interrupt, vector VEC_TLB_SHOOTDOWN, by its APIC id;
 * 5. waits until `tlb_left` is 0, answering its own mailbox meanwhile;
 *    after a short spin it halts (lapic.c, "Halting until woken"), and
 *    the CPU whose answer brings `tlb_left` to 0 wakes it.
 *
 * A target, in `tlb_answer()`, swaps each word of its mailbox with 0
 * (an atomic exchange: a bit set a moment later stays for the next
 * look), and for each bit s it finds flushes CPU s's `tlb_va` and
 * subtracts one from CPU s's `tlb_left`. The request stays still while
 * it is read: CPU s writes `tlb_va` again only in its next shootdown,
 * after every target has counted itself out of this one. The
 * acknowledgement is that count: when it reaches 0, every target has
 * executed its INVLPG.
 *
 * ## Why the waiting CPU answers too
 *
 * The interrupt reaches a CPU only while its interrupts are on, and a
 * CPU that waits, for a lock or for a shootdown, has them off. If CPU
 * 0 shoots down a page while holding the page-table lock, and CPU 1
 * waits for that lock, CPU 1 never takes the interrupt, CPU 0 never
 * sees its answer, and neither moves again. The same happens when two
 * CPUs shoot down at once and wait for each other. So every loop that
 * waits with interrupts off calls `tlb_answer()` on each turn: the
 * lock's (spinlock.c), the shootdown's own (step 5), and the other
 * CPUs' wait for the boot CPU's go-ahead (smp.c). A CPU that is not
 * waiting either has interrupts on, and takes the interrupt, or is
 * doing a bounded piece of work with them off and will reach a wait
 * or turn them on soon.
 *
 * A CPU that waits far too long (SPIN_LIMIT_SECONDS) for the answers
 * panics, naming a CPU that did not answer.
 *
 * ## What it costs
 *
 * A shootdown costs one interrupt per other CPU, and the waiting
 * CPU's time until the slowest has answered: with 8 CPUs under QEMU,
 * tens of microseconds. So a run of pages goes in one request
 * (`tlb_shootdown_range()`, for page_unmap_run()): the heap keeps a
 * reserve of free pages mapped and gives pages back only when a large
 * amount is free, hundreds at once. The self-test that grows the heap
 * to 64 MiB and back unmaps 16,000 pages; with a shootdown a page it
 * took 1.6 s on 4 CPUs under QEMU (0.3 s on 1), with one a batch of 64
 * pages 0.3 s. Kernels also skip CPUs that cannot hold the mapping (in
 * a later chapter, CPUs running other address spaces, for user pages),
 * and flush the whole TLB past some size.
 */
#define WORDS (CPU_MAX / 64)
#define BROADCAST_FROM 8   /* targets from which one message goes to all */

static void flush_pages(uint64_t va, unsigned pages)
{
	for (unsigned i = 0; i < pages; i++)
		invlpg(va + i * PAGE_SIZE);
}

/* Flush what CPU from asked, and count this CPU out of its request;
 * the last to answer wakes the asking CPU, which may have halted. */
static void answer_one(struct cpu *from)
{
	flush_pages(from->tlb_va, from->tlb_pages);
	if (__atomic_sub_fetch(&from->tlb_left, 1, __ATOMIC_SEQ_CST) == 0)
		lapic_send_fixed(from->apic_id, VEC_WAKE);
}

void tlb_answer(void)
{
	struct cpu *me = this_cpu();

	me->wait_turns++;    /* for chapter 08's watchdog: still waiting */
	for (unsigned w = 0; w < WORDS; w++) {
		uint64_t bits;

		if (__atomic_load_n(&me->tlb_from[w], __ATOMIC_RELAXED) == 0)
			continue;
		bits = __atomic_exchange_n(&me->tlb_from[w], 0,
					   __ATOMIC_ACQUIRE);
		while (bits) {
			unsigned s = w * 64 + (unsigned)__builtin_ctzll(bits);

			bits &= bits - 1;
			answer_one(cpu_get(s));
			me->tlb_answered++;
		}
	}
}

static void shootdown_interrupt(struct trap_frame *f)
{
	(void)f;
	tlb_answer();
	lapic_eoi();
}

void tlb_setup(void)
{
	trap_set_handler(VEC_TLB_SHOOTDOWN, shootdown_interrupt);
}

/* Step 5's limit, as in spinlock.c. */
static uint64_t limit_ticks(void)
{
	uint64_t hz = clock_ready() ? clock_tsc_hz() : 4000000000ull;

	return hz * SPIN_LIMIT_SECONDS;
}

static _Noreturn void no_answer(uint64_t va, const uint64_t *want)
{
	struct cpu *me = this_cpu();

	for (unsigned i = 0; i < cpu_count(); i++) {
		struct cpu *c = cpu_get(i);

		if ((want[i / 64] >> (i % 64) & 1) &&
		    (c->tlb_from[me->index / 64] >> (me->index % 64) & 1))
			panic("tlb: CPU %u never answered CPU %u's shootdown "
			      "of %lx (%u CPUs still to answer)", i,
			      me->index, (unsigned long)va, me->tlb_left);
	}
	panic("tlb: CPU %u's shootdown of %lx: %u CPUs took the request but "
	      "never counted themselves out", me->index, (unsigned long)va,
	      me->tlb_left);
}

/**
 * ## The shootdown, step by step
 *
 * The steps are those of "How" above. A machine with one CPU online
 * stops after step 1.
 */
void tlb_shootdown_page(uint64_t va)
{
	tlb_shootdown_range(va, 1);
}

void tlb_shootdown_range(uint64_t va, unsigned pages)
{
	bool was_on = intr_enabled();
	uint64_t want[WORDS] = { 0 }, start;
	struct cpu *me;
	unsigned n = 0;
	uint64_t bit;

	cli();                                                   /* 1. */
	me = this_cpu();
	flush_pages(va, pages);
	for (unsigned i = 0; i < cpu_count(); i++) {             /* 2. */
		struct cpu *c = cpu_get(i);

		if (c != me && c->state == CPU_ONLINE) {
			want[i / 64] |= 1ull << (i % 64);
			n++;
		}
	}
	if (n == 0)
		goto done;
	me->tlb_va = va;                                         /* 3. */
	me->tlb_pages = pages;
	__atomic_store_n(&me->tlb_left, n, __ATOMIC_RELEASE);
	me->tlb_sent++;
	bit = 1ull << (me->index % 64);
	for (unsigned i = 0; i < cpu_count(); i++) {             /* 4. */
		struct cpu *c = cpu_get(i);

		if (!(want[i / 64] >> (i % 64) & 1))
			continue;
		__atomic_fetch_or(&c->tlb_from[me->index / 64], bit,
				  __ATOMIC_SEQ_CST);
		if (n < BROADCAST_FROM)
			lapic_send_fixed(c->apic_id, VEC_TLB_SHOOTDOWN);
	}
	if (n >= BROADCAST_FROM)
		lapic_send_others(VEC_TLB_SHOOTDOWN);
	start = rdtsc();                                         /* 5. */
	for (unsigned spins = 0;
	     __atomic_load_n(&me->tlb_left, __ATOMIC_SEQ_CST) != 0; spins++) {
		tlb_answer();
		cpu_relax();
		if (spins >= SPIN_BEFORE_HALT)
			lapic_wait_kick();  /* the last answer wakes it */
		if (rdtsc() - start > limit_ticks())
			no_answer(va, want);
	}
done:
	if (was_on)
		sti();
}
