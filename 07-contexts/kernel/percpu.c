/*
 * percpu.c: every CPU's struct cpu, and the GS base that makes
 * this_cpu() one instruction.
 */
#include "percpu.h"
#include "acpi_setup.h"
#include "boot_alloc.h"
#include "kprintf.h"
#include "lapic.h"
#include "madt.h"
#include "panic.h"
#include "x86.h"

/**
 * # Per-CPU data
 *
 * ## One struct per CPU, found in one instruction
 *
 * Some state belongs to a CPU, not to the kernel as a whole: how many
 * locks this CPU holds and whether its interrupts were on before the
 * first (spinlock.c), how deep in interrupt handlers it is, its own
 * GDT, TSS and stacks, and from chapter 08 on its run queue. Code that
 * touches such state must find *the running CPU's* copy, and it must
 * find it fast, because the lock code does so twice per lock.
 *
 * The x86 keeps, for each CPU, two registers that user programs
 * normally leave to the kernel's care: the *base addresses* of the FS
 * and GS segments. In 64-bit mode segments have no other meaning left,
 * but an instruction with a `gs:` prefix still adds the GS base to its
 * address. The base is written through the model-specific register
 * IA32_GS_BASE (0xC0000101), and each CPU has its own. So each CPU
 * points its GS base at its own `struct cpu`, whose first field points
 * at the struct itself, and
 *
 *     mov %gs:0, %rax      // rax = GS base + 0: this CPU's struct
 *
 * is `this_cpu()` (percpu.h): one load from memory that is almost
 * always in the cache, no lock, no table, and the same instruction on
 * every CPU, giving each its own answer. (Why not just use the GS base
 * itself? Only the `rdmsr` instruction reads it, which costs far more
 * than a load; newer CPUs have `rdgsbase`, but it must be switched on,
 * and not all have it.)
 *
 * Why GS, and not FS: the x86-64 System V ABI gives FS to user
 * programs, for their thread-local storage, and the CPU has an
 * instruction, `swapgs`, that exchanges the GS base with a second
 * one, IA32_KERNEL_GS_BASE, in one step. A kernel that runs user
 * programs executes it on every entry from user mode and before every
 * return, so that user code sees its own GS base and the kernel its
 * own. There is nothing like it for FS. This kernel has no user mode
 * yet, so it never needs `swapgs`, but the choice is made for the day
 * it does.
 *
 * ## When the GS base is written, and why twice on the boot CPU
 *
 * Loading a segment register with `mov` loads its hidden base too. In
 * 64-bit mode, loading GS with the null selector, as `gdt_load` does
 * for a clean start (gdt_load.asm), clears the base on Intel CPUs and
 * under QEMU (the self-test `gs_reload_clears_base` shows it on every
 * boot); AMD CPUs keep the old base. Either way the base must be
 * written *after* the last segment reload, or the kernel keeps
 * whatever a reload left there. So the order on every CPU is:
 *
 * 1. `gdt_init()`: the GDT and TSS, with the reload of every segment
 *    register, GS included;
 * 2. `percpu_install(c)`: IA32_GS_BASE = c, and a check that
 *    `this_cpu()` now answers c;
 * 3. from here on, locks, interrupts and `this_cpu()` work.
 *
 * On the boot CPU, kmain() runs step 2 right after gdt_init(), which
 * comes before anything that takes a lock (the heap is the first).
 * The boot CPU's struct is a static variable: the heap needs it before
 * there is a heap to allocate it from.
 *
 * ## The array, sized from the MADT
 *
 * The other CPUs' structs are allocated once the MADT has said how
 * many CPUs there are (`percpu_setup`): one per *enabled* CPU, index i
 * for the MADT's CPU i, where madt.c made the indices dense and put the
 * boot CPU first. The index is a position in that list and never an
 * APIC id: with `-smp 6,sockets=2,cores=3` the ids are 0, 1, 2, 4, 5,
 * 6, and index 3 has APIC id 4. A table from APIC id to struct (xAPIC
 * ids have 8 bits, so 256 entries) answers the reverse question for
 * the code that only knows an APIC id: the GS check below, and a CPU
 * that has just started and knows nothing but its APIC id
 * (trampoline.asm). CPUs the MADT lists as disabled get no
 * struct: they cannot be started (`-smp 4,maxcpus=8` lists four).
 *
 * ## False sharing
 *
 * Each CPU writes its own struct all the time (every lock, every
 * interrupt). If two CPUs' structs shared a 64-byte cache line, each
 * write by one would take the line away from the other, and the two
 * would slow each other down without sharing a single variable: *false
 * sharing*. So `struct cpu` is aligned to 64 bytes, its size is a
 * multiple of 64 (the compiler pads it), and each one is allocated on
 * its own lines.
 *
 * ## What Redox 0.3.5 and xv6 do
 *
 * Redox 0.3.5 keeps its per-CPU data, the CPU's number `CPU_ID` among
 * it, in `#[thread_local]` variables, which the Rust compiler reaches
 * through the **FS** base: the register user programs use for their
 * own thread-local data. Each CPU's block, its GDT and TSS with it,
 * sits in the user half of the address space, below 4 GiB. And the CPU
 * numbers are APIC ids: code that walks the blocks of CPUs 0 to
 * count - 1 misses every CPU whose id is larger.
 *
 * xv6 has no register for it. Its `mycpu()` reads the local APIC's id
 * register (a memory-mapped device read) and scans its array of CPUs
 * for the entry with that id, with interrupts off (an interrupt could
 * move the thread to another CPU between the read and the scan). Its
 * own comment notes that APIC ids need not be contiguous, and wishes
 * for "a reverse map, or reserve a register to store &cpus[i]". That
 * register is what the GS base is here. The scenario `bench_percpu`
 * measures both ways (kernel/percpu_tests.c):
 *
 * | lookup | TSC ticks each, under QEMU (TCG) |
 * |---|---:|
 * | `this_cpu()`: `mov %gs:0` | 3 |
 * | APIC id read, then a scan of 255 CPUs (xv6) | 3770 |
 *
 * (One run of `bench_percpu`, the boot CPU last in the scan, as the
 * 255th CPU would be. QEMU inflates every figure, the device read most
 * of all, but the ratio, three orders of magnitude, is the point.)
 */
struct cpu cpu_boot = {
	.self = &cpu_boot,
	.index = 0,
	.state = CPU_ONLINE,
	.tables = &cpu0_tables,
};


extern struct kstack boot_cpu_stack;       /* main.c */

static struct cpu *boot_list[1] = { &cpu_boot };
static struct cpu **cpus = boot_list;      /* index -> struct cpu */
static unsigned ncpus = 1;
struct cpu *cpu_by_apic[CPU_MAX];          /* xAPIC ids are 8 bits */
bool percpu_ready;

void percpu_install(struct cpu *c)
{
	c->self = c;
	wrmsr(MSR_IA32_GS_BASE, (uint64_t)c);
	if (this_cpu() != c)
		panic("percpu: GS base %lx, but %%gs:0 reads %p",
		      (unsigned long)rdmsr(MSR_IA32_GS_BASE),
		      (void *)this_cpu());
	percpu_ready = true;
}

unsigned cpu_count(void)
{
	return ncpus;
}

struct cpu *cpu_get(unsigned index)
{
	return index < ncpus ? cpus[index] : NULL;
}

struct cpu *cpu_by_apic_id(uint32_t apic_id)
{
	return apic_id < 256 ? cpu_by_apic[apic_id] : NULL;
}

const char *cpu_state_name(int state)
{
	switch (state) {
	case CPU_OFFLINE:  return "offline";
	case CPU_STARTING: return "starting";
	case CPU_ONLINE:   return "online";
	case CPU_FAILED:   return "failed";
	default:           return "?";
	}
}

/* A struct cpu for MADT CPU i (not the boot CPU), on its own cache
 * lines. */
static struct cpu *cpu_new(unsigned index, const struct madt_cpu *m)
{
	struct cpu *c = boot_alloc(sizeof *c, 64);

	c->self = c;
	c->index = index;
	c->apic_id = m->apic_id;
	c->acpi_uid = m->uid;
	c->state = CPU_OFFLINE;
	return c;
}

/**
 * ## The same steps on every CPU
 *
 * Every other CPU runs the boot CPU's per-CPU steps for itself when
 * smp.c starts it (`ap_main`), since registers and MSRs belong to one
 * CPU: its own GDT and TSS, loaded with a segment reload; then its GS
 * base; the one IDT all CPUs share; the CPU features
 * (cpu_init_features()); its local APIC. The boot CPU's last step is
 * this one; another CPU is online once the boot CPU has seen it
 * report in (smp.c).
 */
void percpu_cpu_online(struct cpu *c)
{
	percpu_install(c);
	lapic_cpu_init();
	c->state = CPU_ONLINE;
}

/**
 * ## Setting up the list, step by step
 *
 * On the boot CPU, after acpi_setup() and lapic_setup():
 *
 * 1. The boot CPU's APIC id, read from its own local APIC (acpi_setup()
 *    moved the MADT entry with that id to index 0), and its stack: the
 *    guarded kernel stack kmain moved onto.
 * 2. The list: one pointer per enabled CPU; entry 0 is `cpu_boot`, the
 *    others are allocated (boot_alloc.c: they are kept for good) and
 *    marked offline. A CPU whose id needs the x2APIC (above 254)
 *    cannot be sent a message by this kernel's xAPIC code and is left
 *    out, with a message. Without a usable MADT the list is the boot
 *    CPU alone.
 * 3. The reverse table, APIC id to struct.
 * 4. `percpu_cpu_online(&cpu_boot)`: the boot CPU's last per-CPU step,
 *    the one every CPU runs for itself. It installs the GS base once
 *    more (harmless: the same value), enables this CPU's local APIC
 *    (lapic_cpu_init()), and marks the CPU online.
 *
 * Precondition: boot CPU, interrupts off, the other CPUs not started.
 */
void percpu_setup(void)
{
	const struct madt *m = acpi_madt();
	unsigned n = m ? (unsigned)m->nenabled : 1, kept = 1;
	struct cpu **list;

	cpu_boot.apic_id = lapic_id();                         /* 1. */
	cpu_boot.acpi_uid = m ? m->cpu[0].uid : 0;
	cpu_boot.kstack = boot_cpu_stack;      /* kmain moved onto it */
	list = boot_alloc(n * sizeof *list, 8);                /* 2. */
	list[0] = &cpu_boot;
	for (unsigned i = 1; i < n; i++) {
		if (m->cpu[i].apic_id > 254) {
			kprintf("percpu: CPU with APIC id %u needs the "
				"x2APIC; left out\n", m->cpu[i].apic_id);
			continue;
		}
		list[kept] = cpu_new(kept, &m->cpu[i]);
		kept++;
	}
	cpus = list;
	ncpus = kept;
	for (unsigned i = 0; i < ncpus; i++)                   /* 3. */
		cpu_by_apic[cpus[i]->apic_id] = cpus[i];
	percpu_cpu_online(&cpu_boot);                          /* 4. */
	kprintf("CPUs: %u; the boot CPU is index 0, APIC id %u; GS base "
		"%lx\n", ncpus, cpu_boot.apic_id,
		(unsigned long)rdmsr(MSR_IA32_GS_BASE));
}

/**
 * ## Checking the GS base on every trap
 *
 * A wrong GS base is a quiet bug: `this_cpu()` then returns some other
 * CPU's struct, or whatever memory the base points at, and two CPUs
 * start sharing lock counts. Kernels have shipped such bugs, mostly
 * around the entry from user mode, where a `swapgs` was skipped or
 * doubled, or an NMI arrived between the two. So every trap (trap.c
 * calls this first) checks it the slow way, independently of GS: it
 * reads the MSR, and finds the struct this CPU should have by its
 * local APIC's id (before the local APIC is set up only the boot CPU
 * runs). On a mismatch it writes the right base back, so that the
 * panic's own locks work, and panics with both values. It costs an
 * `rdmsr` and a device read per interrupt: a debugging check, and this
 * kernel keeps its debugging checks on.
 */
static struct cpu *cpu_expected(void)
{
	if (!lapic_ready())
		return &cpu_boot;
	return cpu_by_apic_id(lapic_id());
}

void percpu_trap_enter(uint64_t vector)
{
	uint64_t gs = rdmsr(MSR_IA32_GS_BASE);
	struct cpu *want = cpu_expected();

	if (want == NULL) {
		wrmsr(MSR_IA32_GS_BASE, (uint64_t)&cpu_boot);
		panic("percpu: trap %lu on the CPU with APIC id %u, which has"
		      " no struct cpu", (unsigned long)vector, lapic_id());
	}
	if (gs != (uint64_t)want || want->self != want) {
		wrmsr(MSR_IA32_GS_BASE, (uint64_t)want);
		panic("percpu: GS base %lx on entry to vector %lu; CPU %u's "
		      "struct cpu is at %p", (unsigned long)gs,
		      (unsigned long)vector, want->index, (void *)want);
	}
	want->irq_depth++;
	want->traps++;
}

void percpu_trap_exit(void)
{
	this_cpu()->irq_depth--;
}
