/*
 * percpu.h: each CPU's own data, `struct cpu`, and this_cpu(), which
 * finds the running CPU's through the GS base. percpu.c explains it.
 */
#ifndef PERCPU_H
#define PERCPU_H

#include "gdt.h"
#include "kstack.h"
#include "spinlock.h"
#include <stdbool.h>
#include <stdint.h>

struct ctx_cpu;                    /* its contexts (context.h) */

/* What a CPU is doing. The boot CPU is CPU_ONLINE from percpu_setup()
 * on; the others are CPU_OFFLINE until smp_start() starts them. */
enum cpu_state {
	CPU_OFFLINE,    /* listed in the MADT, not started */
	CPU_STARTING,   /* sent INIT-SIPI-SIPI, not yet reported in */
	CPU_ONLINE,     /* running kernel code */
	CPU_FAILED,     /* did not report in; left out */
};

/* The most CPUs: xAPIC ids have 8 bits, and 255 is the broadcast id. */
#define CPU_MAX 256

/* Bytes of one console line a CPU collects before printing it whole
 * (console.c). */
#define CONSOLE_LINE 160

/*
 * One CPU's data. Invariants, once percpu_install(c) has run on it:
 * its GS base holds c, c->self == c, and nothing but that CPU writes
 * the fields between `lock_depth` and `tlb_from` (the others may read
 * them, as gdb does). The struct fills whole 64-byte cache lines, and
 * the fields other CPUs write have lines of their own, so two CPUs
 * rarely write the same line (percpu.c, "False sharing").
 */
struct cpu {
	struct cpu *self;          /* offset 0: what this_cpu() loads */
	unsigned index;            /* dense: 0 .. cpu_count() - 1;
	                              the boot CPU is 0 */
	uint32_t apic_id;          /* its local APIC's id (the MADT's) */
	uint32_t acpi_uid;         /* the MADT's ACPI Processor UID */
	volatile int state;        /* enum cpu_state (smp.c: who writes
	                              it when) */
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
	uint64_t tlb_sent;         /* shootdowns it asked for (tlb.c) */
	uint64_t tlb_answered;     /* flushes it did for others */
	uint64_t idle_wakeups;     /* times its idle loop woke (smp.c) */
	uint64_t online_tsc;       /* TSC when it reported in (smp.c) */
	struct ctx_cpu *ctx;       /* its contexts, from its own
	                              context_setup_cpu() on (07) */
	unsigned line_len;         /* bytes in line[] (console.c) */
	char line[CONSOLE_LINE];   /* the console line it is writing */

	/* Written by other CPUs too, atomically: */
	uint64_t tlb_from[CPU_MAX / 64]    /* bit i: CPU i asks this one */
		__attribute__((aligned(64))); /* to flush (tlb.c) */
	volatile uint32_t tlb_left;  /* of this CPU's own request, the
	                                CPUs yet to flush */
	uint64_t tlb_va;             /* the first page it asked them to */
	uint32_t tlb_pages;          /* flush, and how many from there */
	void (*volatile work)(void *); /* smp_run_on(): run this next */
	void *work_arg;
	volatile uint64_t work_done;   /* works it has finished */
	volatile uint32_t start_token; /* smp.c: the boot CPU's number for
	                                  this start of the CPU */
	volatile uint32_t reported;    /* the CPU: the token it started
	                                  with, once in long mode */
	volatile int stopped;          /* it took the panic's NMI */
	volatile unsigned work_from;   /* who gave it the work (smp.c) */

	/* Written by this CPU, read by the others (spinlock.c): */
	struct spinlock *volatile halt_lock;  /* it halted waiting for */
	volatile uint32_t halt_ticket;        /* this ticket of this lock */
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

/* this_cpu() works: the boot CPU's GS base is installed. Until then
 * only the boot CPU runs, and the console writes without a buffer. */
extern bool percpu_ready;

/* APIC id -> struct cpu, NULL for an id no enabled CPU has. A CPU
 * that has just started finds its struct here (trampoline.asm). */
extern struct cpu *cpu_by_apic[CPU_MAX];

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
