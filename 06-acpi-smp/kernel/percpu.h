/*
 * percpu.h: each CPU's own data, `struct cpu`, and this_cpu(), which
 * finds the running CPU's through the GS base. percpu.c explains it.
 */
#ifndef PERCPU_H
#define PERCPU_H

#include "gdt.h"
#include "kstack.h"
#include <stdbool.h>
#include <stdint.h>

/* What a CPU is doing. The boot CPU is CPU_ONLINE from percpu_setup()
 * on; the others are CPU_OFFLINE until chapter 06's second part starts
 * them. */
enum cpu_state {
	CPU_OFFLINE,    /* listed in the MADT, not started */
	CPU_STARTING,   /* sent INIT-SIPI-SIPI, not yet reported in */
	CPU_ONLINE,     /* running kernel code */
	CPU_FAILED,     /* did not report in; left out */
};

/*
 * One CPU's data. Invariants, once percpu_install(c) has run on it:
 * its GS base holds c, c->self == c, and nothing but that CPU writes
 * the fields below `tables` (the others may read them, as gdb does).
 * The struct fills whole 64-byte cache lines, so two CPUs never write
 * the same line (percpu.c, "False sharing").
 */
struct cpu {
	struct cpu *self;          /* offset 0: what this_cpu() loads */
	unsigned index;            /* dense: 0 .. cpu_count() - 1;
	                              the boot CPU is 0 */
	uint32_t apic_id;          /* its local APIC's id (the MADT's) */
	uint32_t acpi_uid;         /* the MADT's ACPI Processor UID */
	volatile int state;        /* enum cpu_state */
	struct cpu_tables *tables; /* its GDT, TSS and IST stacks */
	struct kstack kstack;      /* its kernel stack */

	/* Written by this CPU only: */
	unsigned lock_depth;       /* spinlocks held (spinlock.c) */
	unsigned preempt;          /* preempt count (spinlock.c) */
	bool irq_on;               /* IF before its outermost lock */
	unsigned irq_depth;        /* trap frames it is handling now */
	uint64_t traps;            /* trap entries, each GS-checked */
	uint64_t lapic_errors;     /* local APIC error interrupts */
	uint32_t lapic_esr;        /* the last one's error status */
	uint64_t lapic_spurious;   /* spurious interrupts (vector 0xFF) */
	uint64_t timer_ticks;      /* local APIC timer interrupts */
} __attribute__((aligned(64)));

#define CPU_SELF_OFFSET 0          /* this_cpu()'s load: %gs:0 */
#define MSR_IA32_GS_BASE 0xC0000101

/*
 * The running CPU's struct cpu: one load, `mov %gs:0, reg`. The GS
 * base points at the struct and its first field points at itself, so
 * the load yields the struct's ordinary address. Volatile, because the
 * answer depends on which CPU runs the code, which the compiler cannot
 * know (from chapter 08 on, a thread may move between two calls).
 */
static inline struct cpu *this_cpu(void)
{
	struct cpu *c;

	__asm__ volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}

/* The boot CPU's struct, static: it is needed before the heap exists
 * (the heap's lock uses it), so it cannot come from the heap. */
extern struct cpu cpu_boot;

/* Point this CPU's GS base at c. Run on the CPU itself, interrupts
 * off, after its last segment reload (gdt_load clears the GS base). */
void percpu_install(struct cpu *c);

/* The last per-CPU step, on the CPU itself, interrupts off, after its
 * gdt_init(c->tables): the GS base (percpu_install), its local APIC
 * (lapic_cpu_init), then CPU_ONLINE. The boot CPU runs it from
 * percpu_setup(); each other CPU from its start-up path. */
void percpu_cpu_online(struct cpu *c);

/* The boot CPU, once the MADT is read (acpi_setup): every enabled CPU
 * gets a struct cpu, index i for the MADT's CPU i; the boot CPU's is
 * cpu_boot, brought online here. */
void percpu_setup(void);

/* How many CPUs there are (enabled in the MADT; 1 without one), and
 * CPU number i, 0 <= i < cpu_count(). */
unsigned cpu_count(void);
struct cpu *cpu_get(unsigned index);

/* The CPU whose local APIC has this id, or NULL: the slow way (a table
 * lookup), which needs no GS base. */
struct cpu *cpu_by_apic_id(uint32_t apic_id);

/* trap.c, on every entry and exit: check that the GS base is this
 * CPU's struct cpu (panics if not), and count the nesting. */
void percpu_trap_enter(uint64_t vector);
void percpu_trap_exit(void);

const char *cpu_state_name(int state);

#endif /* PERCPU_H */
