/*
 * smp_tests.c: self-tests with every CPU: each one online and set up
 * as the boot CPU is, the lock across CPUs, the TLB shootdown, whole
 * console lines; scenarios that break start-up, locks and panics on
 * purpose.
 */
#include "clock.h"
#include "console.h"
#include "frame.h"
#include "gdt.h"
#include "intr.h"
#include "kprintf.h"
#include "ktest.h"
#include "lapic.h"
#include "paging.h"
#include "panic.h"
#include "pat.h"
#include "percpu.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "trap.h"
#include "vm.h"
#include "x86.h"

/* The descriptor-table registers and the task register, read back. */
static inline void read_gdtr(struct table_register *r)
{
	__asm__ volatile("sgdt %0" : "=m"(*r));
}

static inline void read_idtr(struct table_register *r)
{
	__asm__ volatile("sidt %0" : "=m"(*r));
}

static inline uint16_t read_tr(void)
{
	uint16_t s;

	__asm__ volatile("str %0" : "=r"(s));
	return s;
}

static inline uint64_t read_rsp(void)
{
	uint64_t sp;

	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	return sp;
}

/* ---- Every CPU online, and set up like the boot CPU ---- */

/* What each CPU finds about itself, from its own registers. */
static struct self_report {
	uint64_t gs, cr0, cr4, efer, pat, rsp, gdt, idt;
	uint32_t apic_id;
	uint16_t tr;
	int index;
	bool irq_on;
} reports[CPU_MAX];

static void report_self(void *arg)
{
	struct table_register gdtr, idtr;
	struct cpu *c = this_cpu();
	struct self_report *r = &reports[c->index];

	(void)arg;
	read_gdtr(&gdtr);
	read_idtr(&idtr);
	r->gs = rdmsr(MSR_IA32_GS_BASE);
	r->cr0 = read_cr0();
	r->cr4 = read_cr4();
	r->efer = rdmsr(MSR_IA32_EFER);
	r->pat = rdmsr(MSR_IA32_PAT);
	r->rsp = read_rsp();
	r->gdt = gdtr.base;
	r->idt = idtr.base;
	r->apic_id = lapic_id();
	r->tr = read_tr();
	r->index = (int)c->index;
	r->irq_on = intr_enabled();
}

/* One CPU's report against its struct and the boot CPU's report. */
static const char *report_check(unsigned i)
{
	const struct self_report *r = &reports[i], *b = &reports[0];
	struct cpu *c = cpu_get(i);

	if (c->state != CPU_ONLINE || r->index != (int)i)
		return ktest_why("CPU %u is %s and answered as %d", i,
				 cpu_state_name(c->state), r->index);
	if (r->gs != (uint64_t)c || r->apic_id != c->apic_id)
		return ktest_why("CPU %u: GS base %lx (struct %p), APIC id %u "
				 "(MADT %u)", i, (unsigned long)r->gs,
				 (void *)c, r->apic_id, c->apic_id);
	if (!(r->cr0 & CR0_WP) || !(r->cr4 & CR4_PGE) ||
	    !(r->cr4 & CR4_MCE) || !(r->efer & EFER_NXE) ||
	    r->pat != PAT_VALUE)
		return ktest_why("CPU %u: CR0 %lx CR4 %lx EFER %lx PAT %lx",
				 i, (unsigned long)r->cr0,
				 (unsigned long)r->cr4,
				 (unsigned long)r->efer,
				 (unsigned long)r->pat);
	if (r->tr != SEL_TSS || r->gdt != (uint64_t)c->tables->gdt ||
	    r->idt != b->idt)
		return ktest_why("CPU %u: TR %x, GDT at %lx (its own at %p), "
				 "IDT at %lx", i, r->tr, (unsigned long)r->gdt,
				 (void *)c->tables->gdt,
				 (unsigned long)r->idt);
	if (r->rsp < c->kstack.bottom || r->rsp >= c->kstack.top)
		return ktest_why("CPU %u: RSP %lx outside its stack %lx-%lx",
				 i, (unsigned long)r->rsp,
				 (unsigned long)c->kstack.bottom,
				 (unsigned long)c->kstack.top);
	if (i != 0 && !r->irq_on)
		return ktest_why("CPU %u runs work with interrupts off", i);
	return NULL;
}

/* Every enabled CPU is online, and each, asked to look at itself, has
 * its own GS base, GDT, TSS and stack, the shared IDT, the boot CPU's
 * control-register bits and PAT, and its MADT APIC id. */
SELFTEST(smp_every_cpu_online)
{
	unsigned n = cpu_count();

	memset(reports, 0, sizeof reports);
	for (unsigned i = 0; i < n; i++)
		reports[i].index = -1;
	if (smp_online() != n)
		return ktest_why("%u of %u CPUs online", smp_online(), n);
	smp_run_all(report_self, NULL);
	for (unsigned i = 0; i < n; i++) {
		const char *why = report_check(i);

		if (why)
			return why;
	}
	kprintf("smp: each of the %u CPUs checked itself: own GS base, GDT,"
		" TSS and stack; the same IDT, features and PAT\n", n);
	return NULL;
}

/* Every other CPU's stacks have an unmapped guard page below them. */
SELFTEST(smp_stacks_have_guard_pages)
{
	struct page_info pi;

	for (unsigned i = 1; i < cpu_count(); i++) {
		struct cpu *c = cpu_get(i);
		uint64_t below[5] = { c->kstack.bottom };

		for (int k = 1; k <= IST_COUNT; k++)
			below[k] = c->tables->ist_bottom[k];
		below[4] = c->tables->ist_bottom[0];
		for (int k = 0; k < 5; k++)
			if (below[k] == 0 ||
			    page_translate(kernel_pml4, below[k], &pi) != 0 ||
			    page_translate(kernel_pml4, below[k] - PAGE_SIZE,
					   &pi) == 0)
				return ktest_why("CPU %u: stack %d at %lx has "
						 "no guard page", i, k,
						 (unsigned long)below[k]);
	}
	return NULL;
}

/* ---- The lock, across CPUs ---- */

/* For 20 ms, every CPU at once adds 1 to a shared counter, under one
 * lock, and counts its own additions; the counter must equal their sum
 * exactly, and the lock's own count agree. Then the same without the
 * lock, which under QEMU's threads loses additions (how many is
 * printed, not checked: it depends on the host). */
#define COUNT_MS 20
static struct spinlock count_lock = SPINLOCK_INIT("self-test counter");
static volatile uint64_t shared_total;
static uint64_t own_count[CPU_MAX];

static void count_up(void *with_lock)
{
	uint64_t end = clock_ns() + COUNT_MS * 1000000ull, n = 0;

	while (clock_ns() < end) {
		for (int i = 0; i < 100; i++, n++) {
			if (with_lock)
				spin_lock(&count_lock);
			shared_total = shared_total + 1;
			if (with_lock)
				spin_unlock(&count_lock);
		}
	}
	own_count[this_cpu()->index] = n;
}

static uint64_t count_all(bool with_lock)
{
	uint64_t sum = 0;

	shared_total = 0;
	memset(own_count, 0, sizeof own_count);
	smp_run_all(count_up, with_lock ? (void *)1 : NULL);
	for (unsigned i = 0; i < cpu_count(); i++)
		sum += own_count[i];
	return sum;
}

SELFTEST(spinlock_excludes_across_cpus)
{
	uint64_t taken = count_lock.acquired, busy = count_lock.contended;
	uint64_t locked, locked_sum, unlocked, unlocked_sum;

	locked_sum = count_all(true);
	locked = shared_total;
	unlocked_sum = count_all(false);
	unlocked = shared_total;
	kprintf("spinlock: %u CPUs adding for %d ms: %lu of %lu additions "
		"counted with the lock (%lu of them waited), %lu of %lu "
		"without it\n", smp_online(), COUNT_MS,
		(unsigned long)locked, (unsigned long)locked_sum,
		(unsigned long)(count_lock.contended - busy),
		(unsigned long)unlocked, (unsigned long)unlocked_sum);
	if (locked != locked_sum)
		return ktest_why("%lu additions under the lock, the CPUs made "
				 "%lu", (unsigned long)locked,
				 (unsigned long)locked_sum);
	if (count_lock.acquired - taken != locked_sum || count_lock.locked ||
	    count_lock.next != count_lock.serving)
		return ktest_why("the lock counted %lu acquisitions; next %u, "
				 "serving %u",
				 (unsigned long)(count_lock.acquired - taken),
				 count_lock.next, count_lock.serving);
	return NULL;
}

/* ---- TLB shootdown ---- */

#define TEST_VA 0xFFFFFD0000000000ull  /* PML4 slot 506: nothing else */
#define TEST_MAGIC 0x5EEDF00DCAFEull

extern char probe_read_load[], probe_read_fixup[];  /* probe.asm */
int probe_read(const uint64_t *p, uint64_t *out);

static volatile int probe_result, probe_faults;
static volatile uint64_t probe_value, probe_cr2;

/* The #PF handler while a probe runs: a fault at the probe's load
 * resumes at its fixup; any other fault is reported as usual. */
static void probe_fault(struct trap_frame *f)
{
	if (f->rip != (uint64_t)probe_read_load)
		trap_report(f);
	probe_cr2 = read_cr2();
	probe_faults++;
	f->rip = (uint64_t)probe_read_fixup;
}

static void probe_test_page(void *arg)
{
	uint64_t v = 0;

	(void)arg;
	probe_result = probe_read((const uint64_t *)TEST_VA, &v);
	probe_value = v;
}

/* Read TEST_VA on CPU c; 0 and the value, or -1 if it faulted. */
static int probe_on(struct cpu *c, uint64_t *value)
{
	probe_result = 1;
	smp_run_on(c, probe_test_page, NULL);
	smp_wait(c);
	*value = probe_value;
	return probe_result;
}

static const char *page_fault_demo(bool shootdown, int *second)
{
	struct cpu *other = smp_other_cpu();
	uint64_t pa, v, answered;
	trap_handler old;
	int first;

	if (frame_alloc(1, &pa) != 0)
		return "no frame";
	*(volatile uint64_t *)phys_to_virt(pa) = TEST_MAGIC;
	if (page_map(kernel_pml4, TEST_VA, pa, PTE_G | PTE_NX) != 0)
		return "cannot map the test page";
	old = trap_set_handler(T_PAGE_FAULT, probe_fault);
	first = probe_on(other, &v);               /* into its TLB */
	answered = other->tlb_answered;
	if (shootdown) {
		page_unmap(kernel_pml4, TEST_VA, NULL);
	} else {                      /* by hand, and this CPU's TLB only */
		struct page_walk w;

		page_walk(kernel_pml4, TEST_VA, &w);
		*(volatile uint64_t *)phys_to_virt(w.table[3] +
			8 * ((TEST_VA >> 12) & 511)) = 0;
		invlpg(TEST_VA);
	}
	*second = probe_on(other, &v);
	trap_set_handler(T_PAGE_FAULT, old);
	kprintf("tlb: CPU %u read %lx at %lx; after the unmap %s, %s%s "
		"(it answered %lu flush request%s)\n", other->index,
		(unsigned long)TEST_MAGIC, (unsigned long)TEST_VA,
		shootdown ? "with a shootdown" : "without one",
		*second == 0 ? "it still read " : "it faulted",
		*second == 0 ? (v == TEST_MAGIC ? "the old value" : "garbage")
			     : "",
		(unsigned long)(other->tlb_answered - answered),
		other->tlb_answered - answered == 1 ? "" : "s");
	if (shootdown)
		frame_free(pa, 1);        /* only now may it be reused */
	if (first != 0)
		return "the other CPU could not read the page while mapped";
	return NULL;
}

/* CPU 0 maps a page, another CPU reads it (so its TLB holds the
 * translation, a global one, which even a CR3 reload would keep), CPU
 * 0 unmaps it: the other CPU's next read must fault at that address.
 * Without the shootdown it would still read the page. */
SELFTEST(tlb_unmapped_page_faults_on_other_cpu)
{
	const char *why;
	int second;

	if (smp_other_cpu() == NULL) {
		kprintf("tlb: one CPU: no other TLB to shoot down\n");
		return NULL;
	}
	probe_faults = 0;
	why = page_fault_demo(true, &second);
	if (why)
		return why;
	if (second == 0 || probe_faults != 1 || probe_cr2 != TEST_VA)
		return ktest_why("read %s after the unmap (%d faults, CR2 %lx)",
				 second == 0 ? "succeeded" : "faulted",
				 probe_faults, (unsigned long)probe_cr2);
	return NULL;
}

SCENARIO(tlb_stale_without_shootdown,
	 "unmap by hand, no shootdown: another CPU still reads the page")
{
	int second;
	const char *why = smp_other_cpu() == NULL ? "needs two CPUs"
			  : page_fault_demo(false, &second);

	if (!why && second != 0)
		why = "the other CPU faulted: its TLB had dropped the entry";
	ktest_report("tlb_stale_without_shootdown", why);
}

/* ---- Console lines ---- */

/* Every CPU prints CONSOLE_LINES lines at once, each made of six
 * kprintf() calls; tests/console-lines checks that every line came out
 * whole and in order. */
#define CONSOLE_LINES 40

static void print_lines(void *arg)
{
	unsigned me = this_cpu()->index;

	(void)arg;
	for (unsigned i = 0; i < CONSOLE_LINES; i++) {
		kprintf("line %2u of CPU %3u: ", i, me);
		for (int k = 0; k < 4; k++)
			kprintf("%s", "abcdefghij");
		kprintf(" end\n");
	}
}

SCENARIO(console_lines, "every CPU prints 40 lines at once: none may mix")
{
	smp_run_all(print_lines, NULL);
	kprintf("console: %u CPUs printed %u lines each\n", smp_online(),
		CONSOLE_LINES);
	ktest_report("console_lines", NULL);   /* the log is checked */
}

/* ---- Panics and locks, on purpose ---- */

static volatile int held;

static void panic_here(void *arg)
{
	(void)arg;
	panic("deliberate panic on CPU %u", this_cpu()->index);
}

static _Noreturn void spin_forever(void)
{
	for (;;)
		cpu_relax();
}

SCENARIO(panic_on_ap, "CPU 1 panics: the others stop; the report is whole")
{
	struct cpu *other = smp_other_cpu();

	if (other == NULL) {
		ktest_report("panic_on_ap", "needs two CPUs");
		return;
	}
	cli();
	smp_run_on(other, panic_here, NULL);
	spin_forever();               /* until CPU 1's NMI stops this one */
}

/* Take lock l on another CPU and keep it, halted with interrupts off
 * (so that it costs the host nothing), until a panic's NMI stops that
 * CPU. Returns the CPU once it holds the lock, or NULL (and the
 * scenario fails) without one. */
static void hold_forever(void *l)
{
	spin_lock(l);
	held = 1;
	halt_forever();
}

static struct cpu *hold_on_other(struct spinlock *l, const char *scenario)
{
	struct cpu *other = smp_other_cpu();

	if (other == NULL) {
		ktest_report(scenario, "needs two CPUs");
		return NULL;
	}
	smp_run_on(other, hold_forever, l);
	while (!held)
		cpu_relax();
	return other;
}

SCENARIO(panic_console_held,
	 "CPU 1 holds the console lock forever; a panic still prints")
{
	struct cpu *other = hold_on_other(&console_lock, "panic_console_held");

	if (other)
		panic("deliberate panic while CPU %u holds the console lock",
		      other->index);
}

static struct spinlock kept = SPINLOCK_INIT("kept");

SCENARIO(lock_never_released,
	 "CPU 1 keeps a lock: a waiter panics, naming it and its holder")
{
	struct cpu *other = hold_on_other(&kept, "lock_never_released");

	if (other == NULL)
		return;
	kprintf("CPU %u holds 'kept'; CPU 0 waits for it\n", other->index);
	spin_lock(&kept);
	kprintf("survived: got a lock that was never released\n");
}

/* ---- Start-up that goes wrong, and again ---- */

/* smp.c loses CPU 1's first SIPIs under this scenario's name: the CPU
 * must have been started a second time, and be online. */
SCENARIO(smp_lost_sipi, "CPU 1 misses its first SIPIs, is sent them again")
{
	struct cpu *c = cpu_get(1);

	ktest_report("smp_lost_sipi",
		     c == NULL ? "needs two CPUs"
		     : c->state != CPU_ONLINE ? "CPU 1 is not online"
		     : c->start_token != 2 ? "CPU 1 was not started twice"
		     : smp_online() != cpu_count() ? "a CPU is missing"
		     : NULL);
}

/* ... and never sends them: CPU 1 is left out, the others work. */
SCENARIO(smp_dead_cpu, "CPU 1 never gets its SIPIs: it is left out")
{
	struct cpu *c = cpu_get(1);

	ktest_report("smp_dead_cpu",
		     c == NULL ? "needs two CPUs"
		     : c->state != CPU_FAILED ? "CPU 1 is not marked failed"
		     : smp_online() != cpu_count() - 1 ? "a CPU is missing"
		     : NULL);
	ktest_report("spinlock_excludes_across_cpus",
		     spinlock_excludes_across_cpus());
}

/* Stop the other CPUs and start them again in the two modes with the
 * SDM's delays; after each, every CPU must pass the online check. */
SCENARIO(smp_restart_sdm, "start the other CPUs again, with the SDM's delays")
{
	smp_restart(SMP_PARALLEL_SDM);
	ktest_report("smp_every_cpu_online", smp_every_cpu_online());
	smp_restart(SMP_SEQUENTIAL_SDM);
	ktest_report("smp_every_cpu_online", smp_every_cpu_online());
}

/* The cost of a shootdown: map and unmap one page, 50 times, with
 * every other CPU idle. A figure, not a verdict. */
SCENARIO(bench_shootdown, "guest time per map + unmap (with a shootdown)")
{
	uint64_t pa, t0, ns;
	const int n = 50;

	if (frame_alloc(1, &pa) != 0) {
		ktest_report("bench_shootdown", "no frame");
		return;
	}
	t0 = clock_ns();
	for (int i = 0; i < n; i++) {
		page_map(kernel_pml4, TEST_VA, pa, PTE_G | PTE_NX);
		page_unmap(kernel_pml4, TEST_VA, NULL);
	}
	ns = (clock_ns() - t0) / n;
	frame_free(pa, 1);
	kprintf("BENCH shootdown: %u CPUs online: map + unmap of a page "
		"%lu.%03lu ms each (guest time)\n", smp_online(),
		(unsigned long)(ns / 1000000),
		(unsigned long)(ns / 1000 % 1000));
	ktest_report("bench_shootdown", NULL);
}

/* For boots in a row (tests/boots-in-a-row): did every CPU come up? */
SCENARIO(smp_online_only, "report whether every CPU came online, and stop")
{
	ktest_report("smp_online_only", smp_online() == cpu_count() ? NULL
		     : ktest_why("%u of %u CPUs online", smp_online(),
				 cpu_count()));
}

/* The benchmark of the start-up: the boot's parallel start, then every
 * AP parked and started again three ways: in parallel without delays,
 * in parallel with the SDM's delays, and one at a time with them. */
static void ms3(char *buf, size_t len, uint64_t ns)
{
	ksnprintf(buf, len, "%lu.%03lu", (unsigned long)(ns / 1000000),
		  (unsigned long)(ns / 1000 % 1000));
}

SCENARIO(bench_smp, "AP start-up: parallel, no delays, and the SDM's way")
{
	uint64_t ns[4] = { smp_boot_ns };
	char t[4][24];

	ns[1] = smp_restart(SMP_PARALLEL);
	ns[2] = smp_restart(SMP_PARALLEL_SDM);
	ns[3] = smp_restart(SMP_SEQUENTIAL_SDM);
	for (int i = 0; i < 4; i++)
		ms3(t[i], sizeof t[i], ns[i]);
	kprintf("BENCH smp start-up of %u APs, guest ms: parallel %s (at "
		"boot %s), parallel with the SDM's delays %s, one at a time "
		"with them %s\n", cpu_count() - 1, t[1], t[0], t[2], t[3]);
	ktest_report("bench_smp", smp_online() == cpu_count() ? NULL
		     : "a CPU did not come back");
}
