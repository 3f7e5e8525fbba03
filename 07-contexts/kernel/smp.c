/*
 * smp.c: starts every other CPU the MADT lists, in parallel, and keeps
 * them idle, ready for work.
 */
#include "smp.h"
#include "boot_alloc.h"
#include "clock.h"
#include "context.h"
#include "cpu.h"
#include "frame.h"
#include "gdt.h"
#include "idt.h"
#include "intr.h"
#include "kprintf.h"
#include "ktest.h"
#include "lapic.h"
#include "acpi_setup.h"
#include "paging.h"
#include "panic.h"
#include "string.h"
#include "tlb.h"
#include "trap.h"
#include "vm.h"
#include "x86.h"
#include <stddef.h>

/**
 * # Starting the other CPUs
 *
 * At power-on every CPU of a PC runs its firmware, but the firmware
 * then puts all of them except one, the *boot CPU* (the *BSP*, for
 * bootstrap processor), to sleep, and boots the system on that one
 * alone. The others, the *application processors* (APs), wait until
 * the operating system wakes them. Under QEMU's SeaBIOS they wait
 * halted in 32-bit protected mode, in a loop of the firmware's own
 * (`info threads` in gdb shows them there, below 1 MiB). The MADT
 * (madt.c) lists them, by APIC id; percpu.c gave each enabled one a
 * `struct cpu`. This file wakes them.
 *
 * ## From SIPI to the idle loop, step by step
 *
 * The boot CPU, in `smp_start()`:
 *
 * 1. prepares each AP: a kernel stack with a guard page, four
 *    interrupt stacks with theirs, its GDT and TSS (gdt.c,
 *    `cpu_tables_build`), and from chapter 07 on its first context,
 *    its idle context (context_setup_cpu()), all made here, because
 *    making them takes locks and memory, and a CPU that has just woken
 *    should need neither;
 * 2. copies the trampoline (trampoline.asm) to its page at 0x70000,
 *    writes the trampoline's parameters (the kernel's PML4, the
 *    address of `ap_entry`), and maps the page at its own address in
 *    the kernel's tables, for the AP's first instructions with paging
 *    on;
 * 3. sends each AP the start-up messages: INIT, then a start-up IPI
 *    (SIPI) with vector 0x70, then a second SIPI, to each CPU by its
 *    APIC id, all of them first, and only then waits for them together
 *    (below: "Why INIT, then two SIPIs", "In parallel");
 * 4. waits until every AP has reported in, or its time is up
 *    ("When a CPU does not answer");
 * 5. removes the page's mapping (with a TLB shootdown, since the APs
 *    used it), lets the APs go, and prints `smp: N of M CPUs online`
 *    and how long it took.
 *
 * Each AP, meanwhile:
 *
 * 1. wakes at 0x70000 in real mode, as the SIPI says, and runs the
 *    trampoline: protected mode, then long mode on the kernel's own
 *    page tables (trampoline.asm, steps 1-10);
 * 2. in `ap_entry` (trampoline.asm), finds its `struct cpu` by its
 *    APIC id, and its stack in it, and calls `ap_main()`, below;
 * 3. loads its own GDT and TSS, then its GS base (so that
 *    `this_cpu()` works), then the IDT (from here on a fault in its
 *    code is reported like any other);
 * 4. switches on its CPU features, the same function as the boot CPU
 *    (cpu.c: PAT, NX, global pages, write protection, machine checks),
 *    and enables its local APIC (lapic.c);
 * 5. *reports in*: writes the token the boot CPU gave this start into
 *    `reported`. Only now does the boot CPU count it;
 * 6. waits, halted with interrupts on, for the boot CPU's go-ahead;
 * 7. enters its idle loop: `sti; hlt` until an interrupt, and runs any
 *    work another CPU gives it (`smp_run_on`) and, from chapter 07 on,
 *    the contexts spawned on it (context.c's idle loop, one round at a
 *    time). Chapter 08's scheduler takes over from this loop.
 *
 * An AP never touches the boot CPU's state: everything it writes is in
 * its own `struct cpu`, its own stacks and tables, and its own local
 * APIC's registers.
 *
 * ## Why INIT, then two SIPIs
 *
 * INIT is a reset of one CPU: it stops whatever the CPU was doing and
 * leaves it in a state where it waits for a start-up IPI, ignoring
 * every other interrupt. A SIPI is only obeyed in that state, and
 * otherwise dropped: a CPU that runs code (as the firmware's APs do,
 * halted in their loop) must get INIT first. Under QEMU, two SIPIs
 * without an INIT start no CPU at all. The SIPI's 8-bit vector v
 * starts the CPU in real mode at v * 4096.
 *
 * Intel's manual (vol. 3, "MP Initialization Example") sends INIT,
 * waits 10 ms, sends a SIPI, waits 200 microseconds, and sends a
 * second SIPI. The delays and the second SIPI are for hardware of the
 * 1990s: on some early systems the APIC bus could lose a message, and
 * the local APICs of the 486 era (external chips) needed time after
 * INIT. The second SIPI is harmless on a CPU the first one started,
 * since it is no longer waiting for one. Linux found the 10 ms delay
 * unnecessary on every CPU since Intel's family 6 and AMD's family
 * 0xF, and waits 0 after INIT there (and at most 10 microseconds after
 * each SIPI). QEMU models no delay at all: a SIPI is obeyed as soon as
 * the CPU has taken the INIT. So the default here, SMP_PARALLEL, sends
 * INIT, SIPI, SIPI back to back; SMP_PARALLEL_SDM and
 * SMP_SEQUENTIAL_SDM keep the manual's delays, for hardware that needs
 * them and for the benchmark (`bench_smp`), which measures what they
 * cost.
 *
 * Each CPU gets its own INIT, by APIC id. The ICR can also send to
 * "all CPUs but me" in one message, which Redox 0.3.5 does not do
 * either, but a broadcast also reaches CPUs the firmware disabled (the
 * four `-smp 4,maxcpus=8` leaves out), and starts them.
 *
 * ## In parallel
 *
 * The simple way, Intel's example and Redox 0.3.5's, starts one CPU,
 * waits until it runs, then starts the next. With the manual's delays
 * that costs 10 ms per CPU: 2.6 s for 254 APs. Without delays it is
 * still one CPU's whole start after another. Here the boot CPU sends
 * the messages to every AP first, and then waits for all of them at
 * once, while they start side by side: the approach Linux took in
 * 2023, which brought a 96-thread machine's bring-up from 500 ms to
 * about 100 ms. Nothing in the trampoline is per CPU, so any number of
 * CPUs can run it at the same time. `bench_smp` compares the two.
 *
 * ## When a CPU does not answer
 *
 * A CPU may miss its SIPI (firmware code running in system management
 * mode ignores it, on real hardware), or be broken. So each AP has a
 * time limit, AP_TIMEOUT_MS from its SIPI. When it passes, the boot CPU
 * sends INIT, SIPI, SIPI again, once; when the second limit passes
 * too, it sends a last INIT, which parks the CPU in its wait for a
 * SIPI that never comes, reports it as not responding, and leaves it
 * out (state CPU_FAILED). Redox 0.3.5 waits forever.
 *
 * "Counted once it has reported in" needs care, because a CPU that is
 * merely slow may report just as its time runs out. Each start of a CPU
 * gets a *token*, a number the boot CPU writes into `start_token`
 * before the SIPI; the AP reads it first thing and writes it into
 * `reported` when it is done (step 5). The boot CPU counts the CPU when
 * `reported` equals the current token. Before it starts a CPU again it
 * sends INIT, which ends the old start for good, and only then writes
 * a new token: a late report from the old start carries the old token,
 * and counts for nothing. And nothing an AP does before it reports
 * takes a lock or writes shared state, so an INIT can cut it off at any
 * instruction. The boot CPU alone writes `state`.
 *
 * ## Redox 0.3.5, and what we do differently
 *
 * | Redox 0.3.5 | here |
 * |---|---|
 * | start-up compiled only with a feature that is off by default | always on; one CPU is just a machine with no APs |
 * | INIT and one SIPI, no delays | INIT, SIPI, SIPI; the SDM's delays available (SMP_*_SDM) |
 * | one CPU at a time | all at once, then one wait |
 * | `CPU_COUNT` raised before the CPU runs | counted when it reports in from long mode |
 * | waits forever | a limit per CPU, one resend, then left out |
 * | APs on the bootloader's tables, stacks below 4 GiB | APs on the kernel's tables from their first 64-bit instruction |
 * | the trampoline at 0x8000, the bootloader's tables at 0x70000 must survive | one page, carved out of the memory map from the boot on |
 * | INITs its own CPU if the boot CPU's APIC id is not 0 | the boot CPU is found by its real id, and never sent anything |
 */
extern const char trampoline_start[], trampoline_end[];
extern struct trampoline_params {
	uint32_t cr3;           /* the kernel's PML4 */
	uint32_t xd_clear;      /* 1: clear MISC_ENABLE.XD_DISABLE */
	uint64_t entry;         /* ap_entry */
} trampoline_params;
extern char ap_entry[];

/* trampoline.asm loads the stack from here. */
const uint64_t cpu_kstack_top_offset = offsetof(struct cpu, kstack.top);

#define AP_KSTACK_PAGES 8      /* 32 KiB, and a guard page */
#define AP_TIMEOUT_MS 1000     /* from a CPU's SIPI to its report */
#define INIT_DELAY_US 10000    /* the SDM's 10 ms */
#define SIPI_DELAY_US 200      /* and 200 microseconds */

static volatile int released;  /* the boot CPU's go-ahead (step 6) */
uint64_t smp_boot_ns;
static uint64_t *sent_ns;      /* per CPU: when its SIPI went out */
static uint8_t *tries;         /* per CPU: starts tried */
static unsigned prepared;      /* CPUs 1 .. prepared-1 have stacks */

unsigned smp_online(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < cpu_count(); i++)
		n += cpu_get(i)->state == CPU_ONLINE;
	return n;
}

struct cpu *smp_other_cpu(void)
{
	for (unsigned i = 0; i < cpu_count(); i++)
		if (cpu_get(i) != this_cpu() &&
		    cpu_get(i)->state == CPU_ONLINE)
			return cpu_get(i);
	return NULL;
}

/* ---- On the boot CPU: preparing ---- */

/* Step 1, for CPU c. 0, or -1 when memory ran out. */
static int ap_prepare(struct cpu *c)
{
	char *name = boot_alloc(24, 1);

	c->tables = boot_alloc(sizeof *c->tables, 64);
	ksnprintf(name, 24, "CPU %u's kernel", c->index);
	if (kstack_alloc(AP_KSTACK_PAGES, name, &c->kstack) != 0)
		return -1;
	return cpu_tables_build(c->tables, c->index);
}

/* Prepare every AP; print what each costs. */
static void aps_prepare(void)
{
	uint64_t before = frame_used_count(), kib;
	unsigned n = cpu_count();

	sent_ns = boot_alloc(n * sizeof *sent_ns, 8);
	tries = boot_alloc(n, 1);
	for (prepared = 1; prepared < n; prepared++) {
		if (ap_prepare(cpu_get(prepared)) == 0) {
			context_setup_cpu(cpu_get(prepared));
		} else {
			kprintf("smp: no memory for CPU %u's stacks; it and "
				"the %u after it stay offline\n", prepared,
				n - 1 - prepared);
			break;
		}
	}
	context_setup_done();
	if (prepared < 2)
		return;
	kib = (frame_used_count() - before) * 4 +
	      (prepared - 1) * (sizeof(struct cpu) +
				sizeof(struct cpu_tables)) / 1024;
	kprintf("smp: memory for each other CPU: %lu KiB (kernel stack %u, "
		"4 interrupt stacks %u, struct cpu and tables %zu bytes, "
		"page tables); %lu KiB for %u CPUs\n",
		(unsigned long)(kib / (prepared - 1)), AP_KSTACK_PAGES * 4,
		4 * IST_PAGES * 4,
		sizeof(struct cpu) + sizeof(struct cpu_tables),
		(unsigned long)kib, prepared - 1);
}

/* Step 2: the trampoline in its page, and the page mapped at its own
 * address, read-only and executable, for the APs' first instructions
 * with paging on. */
static void trampoline_install(void)
{
	struct trampoline_params *p;
	uint8_t *page = phys_to_virt(trampoline_base);
	size_t size = (size_t)(trampoline_end - trampoline_start);
	int err;

	if (kernel_pml4 >> 32)
		panic("smp: the kernel's PML4 at %lx is above 4 GiB; the "
		      "trampoline loads CR3 with 32 bits",
		      (unsigned long)kernel_pml4);
	memset(page, 0, PAGE_SIZE);
	memcpy(page, trampoline_start, size);
	p = (void *)(page + ((char *)&trampoline_params - trampoline_start));
	p->cr3 = (uint32_t)kernel_pml4;
	p->xd_clear = cpu_is_intel();
	p->entry = (uint64_t)ap_entry;
	err = page_map(kernel_pml4, trampoline_base, trampoline_base, 0);
	if (err && err != PAGE_ERR_EXISTS)
		panic("smp: cannot map the trampoline: %s",
		      page_strerror(err));
}

/* Step 5's first half. Every AP that ran the trampoline is past it. */
static void trampoline_remove(void)
{
	int err = page_unmap(kernel_pml4, trampoline_base, NULL);

	if (err)
		panic("smp: cannot unmap the trampoline: %s",
		      page_strerror(err));
}

/* ---- On the boot CPU: the messages ---- */

/* A scenario may ask for a CPU that misses its SIPIs (tests). */
static bool test_wants(const char *name)
{
	const char *s = ktest_scenario_name();

	return s && strcmp(s, name) == 0;
}

static bool sipi_lost(struct cpu *c)
{
	if (c->index != 1)
		return false;
	if (test_wants("smp_dead_cpu"))
		return true;
	return test_wants("smp_lost_sipi") && tries[1] == 1;
}

static uint8_t sipi_vector(void)
{
	return (uint8_t)(trampoline_base >> 12);
}

/* A new start of CPU c: INIT (which ends any earlier start for good),
 * then its token. The SIPIs follow. */
static void start_begin(struct cpu *c)
{
	lapic_send_init(c->apic_id);
	c->start_token++;
	c->state = CPU_STARTING;
	tries[c->index]++;
}

static void start_sipis(struct cpu *c, bool delays)
{
	sent_ns[c->index] = clock_ns();
	if (sipi_lost(c))
		return;
	lapic_send_sipi(c->apic_id, sipi_vector());
	if (delays)
		udelay(SIPI_DELAY_US);
	lapic_send_sipi(c->apic_id, sipi_vector());
}

/* Step 4 for one CPU: online once it has reported this start; after
 * its time, a second start, then left out. Returns true while it is
 * still starting. */
static bool ap_check(struct cpu *c, bool delays)
{
	if (c->state != CPU_STARTING)
		return false;
	if (__atomic_load_n(&c->reported, __ATOMIC_ACQUIRE) ==
	    c->start_token) {
		c->state = CPU_ONLINE;
		return false;
	}
	if (clock_ns() - sent_ns[c->index] < AP_TIMEOUT_MS * 1000000ull)
		return true;
	if (tries[c->index] < 2) {
		kprintf("smp: CPU %u (APIC id %u) did not report in within "
			"%u ms; INIT, SIPI, SIPI again\n", c->index,
			c->apic_id, AP_TIMEOUT_MS);
		start_begin(c);
		if (delays)
			udelay(INIT_DELAY_US);
		start_sipis(c, delays);
		return true;
	}
	lapic_send_init(c->apic_id);          /* parked, for good */
	c->state = CPU_FAILED;
	context_cpu_gone(c->index);
	kprintf("smp: CPU %u (APIC id %u) is not responding; left out\n",
		c->index, c->apic_id);
	return false;
}

static void wait_for(struct cpu *c, bool delays)
{
	while (ap_check(c, delays))
		cpu_relax();
}

static void wait_for_all(bool delays)
{
	bool waiting = true;

	while (waiting) {
		waiting = false;
		for (unsigned i = 1; i < prepared; i++)
			waiting |= ap_check(cpu_get(i), delays);
		cpu_relax();
	}
}

/* Steps 3 and 4 in the given mode, for every prepared AP that is
 * offline; the guest nanoseconds from the first message to the last
 * report. */
static uint64_t bring_up(enum smp_mode mode)
{
	uint64_t t0 = clock_ns();

	for (unsigned i = 1; i < prepared; i++)
		tries[i] = 0;
	switch (mode) {
	case SMP_PARALLEL:
		for (unsigned i = 1; i < prepared; i++) {
			start_begin(cpu_get(i));
			start_sipis(cpu_get(i), false);
		}
		wait_for_all(false);
		break;
	case SMP_PARALLEL_SDM:
		for (unsigned i = 1; i < prepared; i++)
			start_begin(cpu_get(i));
		udelay(INIT_DELAY_US);
		for (unsigned i = 1; i < prepared; i++)
			sent_ns[i] = clock_ns();
		for (unsigned i = 1; i < prepared; i++)
			if (!sipi_lost(cpu_get(i)))
				lapic_send_sipi(cpu_get(i)->apic_id,
						sipi_vector());
		udelay(SIPI_DELAY_US);
		for (unsigned i = 1; i < prepared; i++)
			if (!sipi_lost(cpu_get(i)))
				lapic_send_sipi(cpu_get(i)->apic_id,
						sipi_vector());
		wait_for_all(true);
		break;
	case SMP_SEQUENTIAL_SDM:
		for (unsigned i = 1; i < prepared; i++) {
			start_begin(cpu_get(i));
			udelay(INIT_DELAY_US);
			start_sipis(cpu_get(i), true);
			wait_for(cpu_get(i), true);
		}
		break;
	}
	return clock_ns() - t0;
}

/* Step 5's second half: the go-ahead, and a wake-up for each. */
static void aps_release(void)
{
	__atomic_store_n(&released, 1, __ATOMIC_RELEASE);
	for (unsigned i = 1; i < cpu_count(); i++)
		if (cpu_get(i)->state == CPU_ONLINE)
			lapic_send_fixed(cpu_get(i)->apic_id, VEC_WAKE);
}

static void wake_interrupt(struct trap_frame *f)
{
	(void)f;
	lapic_eoi();
}

static const char *const mode_names[] = {
	[SMP_PARALLEL] = "in parallel, no delays",
	[SMP_PARALLEL_SDM] = "in parallel, with the SDM's delays",
	[SMP_SEQUENTIAL_SDM] = "one at a time, with the SDM's delays",
};

/* The SMP summary, exactly `smp: N of M CPUs online`, M the MADT's
 * enabled CPUs; then the time. */
static void print_summary(uint64_t ns, enum smp_mode mode)
{
	const struct madt *m = acpi_madt();
	unsigned enabled = m ? (unsigned)m->nenabled : 1;

	kprintf("smp: %u of %u CPUs online\n", smp_online(), enabled);
	if (prepared > 1)
		kprintf("smp: %u AP%s started %s in %lu.%03lu ms (guest "
			"time, by the TSC)\n", prepared - 1,
			prepared == 2 ? "" : "s", mode_names[mode],
			(unsigned long)(ns / 1000000),
			(unsigned long)(ns / 1000 % 1000));
}

/* Precondition: boot CPU, interrupts off, the clock calibrated. */
void smp_start(void)
{
	uint64_t ns = 0;

	tlb_setup();
	trap_set_handler(VEC_WAKE, wake_interrupt);
	prepared = 1;
	if (cpu_count() > 1) {
		aps_prepare();                                 /* 1. */
		trampoline_install();                          /* 2. */
		kprintf("smp: trampoline at %lx, SIPI vector 0x%x; "
			"kernel PML4 at %lx\n",
			(unsigned long)trampoline_base, sipi_vector(),
			(unsigned long)kernel_pml4);
		ns = bring_up(SMP_PARALLEL);                   /* 3, 4. */
		smp_boot_ns = ns;
		trampoline_remove();                           /* 5. */
		aps_release();
	}
	context_setup_done();              /* (one CPU: no step 1) */
	print_summary(ns, SMP_PARALLEL);
}

/* Park every AP (INIT) and start them again. They are idle: holding
 * no lock, doing no work. */
uint64_t smp_restart(enum smp_mode mode)
{
	uint64_t ns;

	for (unsigned i = 1; i < prepared; i++) {
		struct cpu *c = cpu_get(i);

		if (c->state != CPU_ONLINE)
			continue;
		smp_wait(c);
		c->state = CPU_OFFLINE;       /* no more shootdowns for it */
		lapic_send_init(c->apic_id);
	}
	__atomic_store_n(&released, 0, __ATOMIC_RELEASE);
	trampoline_install();
	ns = bring_up(mode);
	trampoline_remove();
	aps_release();
	print_summary(ns, mode);
	return ns;
}

/* ---- On each AP ---- */

/* Steps 6 and 7: halted until the go-ahead; then, for good, halted
 * until there is work. The check and the halt are one step with
 * interrupts off until `sti; hlt` (intr.h): a wake-up that arrives
 * after the check still ends the halt. A round of the contexts' idle
 * loop (context_idle_once()) runs what is runnable, or halts the same
 * way, woken by smp_run_on()'s IPI as by a context's. */
static _Noreturn void ap_idle(struct cpu *c)
{
	for (;;) {
		void (*fn)(void *);

		cli();
		if (!__atomic_load_n(&released, __ATOMIC_ACQUIRE)) {
			intr_wait();
			continue;
		}
		fn = __atomic_load_n(&c->work, __ATOMIC_ACQUIRE);
		if (fn == NULL) {
			c->idle_wakeups++;
			context_idle_once();
			continue;
		}
		sti();
		fn(c->work_arg);
		__atomic_store_n(&c->work_done, c->work_done + 1,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&c->work, NULL, __ATOMIC_SEQ_CST);
		lapic_send_fixed(cpu_get(c->work_from)->apic_id, VEC_WAKE);
	}
}

/* Steps 3 to 7 of an AP (above). Interrupts are off, as the
 * trampoline left them. */
_Noreturn void ap_main(struct cpu *c)
{
	uint32_t token = c->start_token;

	c->lock_depth = 0;                     /* a second start of it */
	c->preempt = 0;
	c->irq_depth = 0;
	c->line_len = 0;
	cpu_tables_load(c->tables);                              /* 3. */
	percpu_install(c);
	idt_load();
	cpu_init_features();                                     /* 4. */
	lapic_cpu_init();
	if (lapic_id() != c->apic_id)
		panic("smp: CPU %u runs on the local APIC with id %u, not "
		      "%u", c->index, lapic_id(), c->apic_id);
	c->online_tsc = rdtsc();
	__atomic_store_n(&c->reported, token, __ATOMIC_RELEASE); /* 5. */
	ap_idle(c);                                              /* 6, 7 */
}

/* ---- Work for other CPUs ---- */

void smp_run_on(struct cpu *c, void (*fn)(void *), void *arg)
{
	smp_wait(c);
	c->work_arg = arg;
	c->work_from = this_cpu()->index;
	__atomic_store_n(&c->work, fn, __ATOMIC_RELEASE);
	lapic_send_fixed(c->apic_id, VEC_WAKE);
}

/* Spin a little, then halt: the worker wakes this CPU when it is done
 * (ap_idle()). Interrupts as they were on return. */
void smp_wait(struct cpu *c)
{
	bool was_on = intr_enabled();

	cli();
	for (unsigned spins = 0;
	     __atomic_load_n(&c->work, __ATOMIC_ACQUIRE) != NULL; spins++) {
		tlb_answer();   /* the worker may be shooting down pages */
		cpu_relax();
		if (spins >= SPIN_BEFORE_HALT)
			lapic_wait_kick();
	}
	if (was_on)
		sti();
}

/* smp_run_all()'s start: every CPU begins fn at the same moment, when
 * the caller opens the gate, not one after another as the work is
 * handed out. A CPU waits at the gate halted (it runs work with
 * interrupts on), and the caller wakes them all. */
static struct {
	void (*fn)(void *);
	void *arg;
	volatile int open;
} gate;

static void behind_gate(void *unused)
{
	(void)unused;
	for (;;) {
		cli();
		if (__atomic_load_n(&gate.open, __ATOMIC_ACQUIRE))
			break;
		intr_wait();
	}
	sti();
	gate.fn(gate.arg);
}

void smp_run_all(void (*fn)(void *), void *arg)
{
	struct cpu *me = this_cpu();

	gate.fn = fn;
	gate.arg = arg;
	__atomic_store_n(&gate.open, 0, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < cpu_count(); i++)
		if (cpu_get(i) != me && cpu_get(i)->state == CPU_ONLINE)
			smp_run_on(cpu_get(i), behind_gate, NULL);
	__atomic_store_n(&gate.open, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < cpu_count(); i++)
		if (cpu_get(i) != me && cpu_get(i)->state == CPU_ONLINE)
			lapic_send_fixed(cpu_get(i)->apic_id, VEC_WAKE);
	fn(arg);
	for (unsigned i = 0; i < cpu_count(); i++)
		if (cpu_get(i) != me && cpu_get(i)->state == CPU_ONLINE)
			smp_wait(cpu_get(i));
}
