/*
 * percpu_tests.c: self-tests of the per-CPU data and the GS base, the
 * check on every trap entry, and a scenario that breaks the GS base on
 * purpose; a benchmark against an xv6-style lookup.
 */
#include "acpi_setup.h"
#include "clock.h"
#include "intr.h"
#include "kprintf.h"
#include "ktest.h"
#include "lapic.h"
#include "percpu.h"
#include "trap.h"
#include "x86.h"

/* The list agrees with the MADT: one struct per enabled CPU, index i
 * at position i, APIC ids as the MADT lists them, the boot CPU first,
 * every one online (smp.c started them), each on its own cache lines;
 * and the reverse lookup finds every one. */
SELFTEST(percpu_list_matches_madt)
{
	const struct madt *m = acpi_madt();
	unsigned n = cpu_count();

	if (m != NULL && n != m->nenabled)
		return ktest_why("%u CPUs, the MADT enables %zu", n,
				 m->nenabled);
	for (unsigned i = 0; i < n; i++) {
		struct cpu *c = cpu_get(i);

		if (c->index != i || c->self != c)
			return ktest_why("CPU %u: index %u, self %p", i,
					 c->index, (void *)c->self);
		if (m != NULL && c->apic_id != m->cpu[i].apic_id)
			return ktest_why("CPU %u: APIC id %u, MADT %u", i,
					 c->apic_id, m->cpu[i].apic_id);
		if ((uintptr_t)c % 64 != 0)
			return ktest_why("CPU %u at %p: not 64-aligned", i,
					 (void *)c);
		if (c->state != CPU_ONLINE)
			return ktest_why("CPU %u is %s", i,
					 cpu_state_name(c->state));
		if (cpu_by_apic_id(c->apic_id) != c)
			return ktest_why("APIC id %u does not find CPU %u",
					 c->apic_id, i);
	}
	if (sizeof(struct cpu) % 64 != 0)
		return ktest_why("struct cpu is %zu bytes", sizeof(struct cpu));
	return cpu_get(n) == NULL ? NULL : "cpu_get(count) is not NULL";
}

/* The boot CPU's GS base is cpu_boot, %gs:0 reads it, and the struct
 * names this CPU's own local APIC. */
SELFTEST(percpu_gs_base_is_boot_cpu)
{
	uint64_t gs = rdmsr(MSR_IA32_GS_BASE);

	if (gs != (uint64_t)&cpu_boot || this_cpu() != &cpu_boot)
		return ktest_why("GS base %lx, this_cpu() %p, cpu_boot %p",
				 (unsigned long)gs, (void *)this_cpu(),
				 (void *)&cpu_boot);
	if (this_cpu()->apic_id != lapic_id() || this_cpu()->index != 0)
		return ktest_why("APIC id %u (LAPIC says %u), index %u",
				 this_cpu()->apic_id, lapic_id(),
				 this_cpu()->index);
	return NULL;
}

/* What reloading GS with the null selector does to its base, on this
 * CPU: why percpu_install() must come after gdt_load. The test then
 * installs the base again and checks it; it prints what the reload
 * did (QEMU clears the base, as Intel CPUs do). */
SELFTEST(gs_reload_clears_base)
{
	struct cpu *c = this_cpu();
	uint64_t after;

	cli();
	__asm__ volatile("mov %0, %%gs" : : "r"(0) : "memory");
	after = rdmsr(MSR_IA32_GS_BASE);
	percpu_install(c);
	kprintf("percpu: loading GS with the null selector %s the GS base "
		"(%lx after it)\n", after == 0 ? "cleared" : "kept",
		(unsigned long)after);
	if (rdmsr(MSR_IA32_GS_BASE) != (uint64_t)c || this_cpu() != c)
		return "percpu_install() did not restore the GS base";
	return NULL;
}

/*
 * Every kind of entry checks the GS base (percpu_trap_enter): an
 * exception (int3), a spurious PIC interrupt (int $0x27), a fixed IPI
 * and an NMI sent to this CPU through its local APIC, a timer
 * interrupt, and an NMI nested inside that timer interrupt, on the NMI
 * stack (IST2). Each entry must count once, the nesting must reach 2
 * in the nested NMI and return to 0.
 */
static volatile uint64_t seen_ipi, seen_nmi, seen_timer;
static volatile unsigned max_depth;

static void note_depth(void)
{
	if (this_cpu()->irq_depth > max_depth)
		max_depth = this_cpu()->irq_depth;
}

static void on_ipi(struct trap_frame *f)
{
	(void)f;
	seen_ipi++;
	note_depth();
	lapic_eoi();
}

static void on_nmi(struct trap_frame *f)
{
	(void)f;
	seen_nmi++;
	note_depth();
}

static void on_timer(struct trap_frame *f)
{
	(void)f;
	seen_timer++;
	lapic_send_nmi(lapic_id());        /* arrives before we return */
	lapic_eoi();
}

SELFTEST(gs_checked_on_every_entry)
{
	trap_handler old_nmi = trap_set_handler(T_NMI, on_nmi);
	trap_handler old_timer = trap_set_handler(VEC_LAPIC_TIMER, on_timer);
	trap_handler old_ipi = trap_set_handler(VEC_IPI_TEST, on_ipi);
	const char *why = NULL;
	uint64_t before;

	/* First let in what is pending from before (a wake-up from another
	 * CPU that finished a self-test's work): it is not ours to count. */
	sti();
	__asm__ volatile("nop");
	cli();
	before = this_cpu()->traps;

	seen_ipi = seen_nmi = seen_timer = max_depth = 0;
	__asm__ volatile("int3");                              /* 1 */
	__asm__ volatile("int $0x27");                         /* 2 */
	lapic_send_fixed(lapic_id(), VEC_IPI_TEST);            /* 3 */
	clock_wait_change(&seen_ipi, 0, IRQ_WAIT_MS);
	lapic_send_nmi(lapic_id());                            /* 4 */
	lapic_timer_oneshot(1000);                             /* 5, 6 */
	clock_wait_change(&seen_timer, 0, IRQ_WAIT_MS);
	lapic_timer_stop();
	trap_set_handler(T_NMI, old_nmi);
	trap_set_handler(VEC_LAPIC_TIMER, old_timer);
	trap_set_handler(VEC_IPI_TEST, old_ipi);
	if (seen_ipi != 1 || seen_nmi != 2 || seen_timer != 1)
		why = ktest_why("IPI %lu, NMI %lu, timer %lu times",
				(unsigned long)seen_ipi,
				(unsigned long)seen_nmi,
				(unsigned long)seen_timer);
	else if (this_cpu()->traps - before != 6)
		why = ktest_why("%lu entries checked, 6 expected",
				(unsigned long)(this_cpu()->traps - before));
	else if (max_depth != 2 || this_cpu()->irq_depth != 0)
		why = ktest_why("nesting reached %u, now %u", max_depth,
				this_cpu()->irq_depth);
	return why;
}

/* The check must be able to fail: point the GS base at a copy of this
 * CPU's struct (which looks right to %gs:0) and take a breakpoint. */
SCENARIO(gs_base_wrong, "a wrong GS base is caught at the next trap")
{
	static struct cpu impostor;

	impostor = cpu_boot;
	impostor.self = &impostor;
	cli();
	wrmsr(MSR_IA32_GS_BASE, (uint64_t)&impostor);
	kprintf("GS base now %p, not %p\n", (void *)&impostor,
		(void *)&cpu_boot);
	__asm__ volatile("int3");
	kprintf("survived a wrong GS base\n");
}

/* ---- this_cpu() against an xv6-style lookup ---- */

#define BENCH_CPUS 255
#define BENCH_ROUNDS 100000

struct xv6_cpu {
	uint32_t apic_id;
};

static struct xv6_cpu xv6_cpus[BENCH_CPUS];

/* xv6's mycpu(): read the APIC id, scan for it. The boot CPU is put
 * last, as the worst case of a scan (and the 255th CPU's lookup). */
static struct xv6_cpu *xv6_mycpu(void)
{
	uint32_t id = lapic_id();

	for (int i = 0; i < BENCH_CPUS; i++)
		if (xv6_cpus[i].apic_id == id)
			return &xv6_cpus[i];
	return NULL;
}

SCENARIO(bench_percpu, "cycles of this_cpu() and of an xv6-style scan")
{
	uint64_t t0, t1, t2;
	uintptr_t sink = 0;

	for (int i = 0; i < BENCH_CPUS; i++)
		xv6_cpus[i].apic_id = (uint32_t)(BENCH_CPUS - 1 - i) ^
				      lapic_id();
	t0 = rdtsc();
	for (int i = 0; i < BENCH_ROUNDS; i++)
		sink += (uintptr_t)this_cpu();
	t1 = rdtsc();
	for (int i = 0; i < BENCH_ROUNDS; i++)
		sink += (uintptr_t)xv6_mycpu();
	t2 = rdtsc();
	kprintf("BENCH per-CPU lookup, TSC ticks each: this_cpu() %lu, "
		"APIC id and scan of %d CPUs %lu\n",
		(unsigned long)((t1 - t0) / BENCH_ROUNDS), BENCH_CPUS,
		(unsigned long)((t2 - t1) / BENCH_ROUNDS));
	ktest_report("bench_percpu", sink ? NULL : "no lookups");
}
