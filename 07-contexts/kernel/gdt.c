/*
 * gdt.c: builds a CPU's Global Descriptor Table and task-state segment,
 * with interrupt stacks for the faults that cannot trust the current
 * stack, and loads them.
 */
#include "gdt.h"
#include "boot_alloc.h"
#include "kprintf.h"
#include "kstack.h"
#include "panic.h"
#include "string.h"
#include "x86.h"

/**
 * # Descriptor tables
 *
 * ## What long mode still wants from segments
 *
 * Segmentation is almost gone in 64-bit mode: the CPU ignores the base
 * and limit of CS, DS, ES and SS. What remains matters, though. CS
 * selects a descriptor whose L bit says "64-bit code" and whose DPL is
 * the *current privilege level*, ring 0 for the kernel and ring 3 for
 * user programs. In ring 3, SS must name a writable data descriptor (in
 * ring 0 it may even be null). And one descriptor
 * points at the *task-state segment* (TSS), which in 64-bit mode only
 * holds stack pointers: where the CPU switches the stack to when an
 * interrupt arrives from ring 3 (`rsp[0]`), and up to seven *interrupt
 * stacks* (IST) that an interrupt gate can demand whatever the current
 * stack is.
 *
 * Our GDT, one per CPU (chapter 06 gives every CPU its own, since each
 * needs its own TSS):
 *
 * | selector | descriptor        | access byte | flags |
 * |----------|-------------------|-------------|-------|
 * | 0x00     | null              |             |       |
 * | 0x08     | kernel code       | 0x9A        | L     |
 * | 0x10     | kernel data       | 0x92        |       |
 * | 0x18 (+3)| user data         | 0xF2        |       |
 * | 0x20 (+3)| user code         | 0xFA        | L     |
 * | 0x28     | TSS (16 bytes)    | type 9      |       |
 *
 * Access byte 0x9A reads, bit by bit from the top: P (present) = 1,
 * DPL = 0, S (code/data) = 1, type 1010 = code, readable. 0x92: data,
 * writable. 0xFA and 0xF2 are the same with DPL 3. User data comes
 * *before* user code because the SYSRET instruction (a later chapter)
 * computes both selectors from one base and expects that order.
 *
 * ### What Redox 0.3.5 does, and the slips we avoid
 *
 * Redox keeps the GDT and TSS in thread-local storage and loads a
 * bootstrap GDT first, because its per-CPU area is reached through FS.
 * It has no IST stacks, so a kernel stack overflow, which faults while
 * pushing the fault frame onto the same dead stack, becomes a triple
 * fault and a silent reset. Its TSS limit is the size instead of size
 * minus one, and its TSS descriptor has DPL 3. Here every limit is
 * size - 1, the TSS has DPL 0, and double faults, NMIs and machine
 * checks each run on an IST stack with its own guard page.
 */
struct cpu_tables cpu0_tables;

/* A flat code or data descriptor: base 0, limit 0xFFFFF pages. `flags`
 * is the high nibble of byte 6: G (bit 3), D/B (bit 2), L (bit 1). */
static uint64_t segment(uint8_t access, uint8_t flags)
{
	return 0xFFFFull | 0xFull << 48 | (uint64_t)access << 40 |
	       (uint64_t)flags << 52;
}

#define FLAGS_CODE64 0xA        /* G, L */
#define FLAGS_DATA 0xC          /* G, D/B */
#define TSS_TYPE_AVAILABLE 0x9  /* "available 64-bit TSS" */
#define DESC_PRESENT (1ull << 47)

/* The 16-byte TSS descriptor takes two GDT slots: base bits 0-31 and
 * the limit in the first, base bits 32-63 in the second. */
static void tss_descriptor(uint64_t *slot, const struct tss *tss)
{
	uint64_t base = (uint64_t)tss, limit = sizeof *tss - 1;

	slot[0] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 |
		  (uint64_t)TSS_TYPE_AVAILABLE << 40 | DESC_PRESENT |
		  ((limit >> 16) & 0xF) << 48 | ((base >> 24) & 0xFF) << 56;
	slot[1] = base >> 32;
}

/* Allocate a guarded stack, note where it is (for reports), and
 * return its top, or 0 when frames or page tables ran out. */
static uint64_t ist_stack_new(struct cpu_tables *t, int ist,
			      const char *name)
{
	struct kstack ks;

	if (kstack_alloc(IST_PAGES, name, &ks) != 0)
		return 0;
	t->ist_bottom[ist] = ks.bottom;
	t->ist_top[ist] = ks.top;
	return ks.top;
}

static void gdt_fill(struct cpu_tables *t)
{
	memset(t, 0, sizeof *t);
	t->gdt[1] = segment(0x9A, FLAGS_CODE64);
	t->gdt[2] = segment(0x92, FLAGS_DATA);
	t->gdt[3] = segment(0xF2, FLAGS_DATA);
	t->gdt[4] = segment(0xFA, FLAGS_CODE64);
}

/* Step 5: the interrupt stacks, and rsp[0], named for reports. 0, or
 * -1 if one could not be made (those made before stay: a CPU that
 * cannot have its stacks is left out, and the little it took is not
 * worth a way back). */
static int tss_fill(struct cpu_tables *t, const char *const names[4])
{
	static const int slot[4] = { IST_DOUBLE_FAULT, IST_NMI,
				     IST_MACHINE_CHECK, 0 };

	for (int i = 0; i < 4; i++) {
		uint64_t top = ist_stack_new(t, slot[i], names[i]);

		if (top == 0)
			return -1;
		if (slot[i])
			t->tss.ist[slot[i] - 1] = top;
		else
			t->tss.rsp[0] = top;
	}
	t->tss.iomap_base = sizeof t->tss;
	return 0;
}

/**
 * ## Loading the tables, step by step
 *
 * The GDT comes first of all, before kmain does anything that could
 * fault. The bootloader's GDT lies in low memory that chapter 02's
 * page tables no longer map, so until this runs, the first exception
 * would find no usable table and reset the machine. Our table lives in
 * the kernel image, which every set of page tables maps. `gdt_init`:
 *
 * 1. fills in the code and data descriptors;
 * 2. `lgdt` with the table's address and its size minus one;
 * 3. reloads CS. No `mov` can load CS, so `gdt_load` pushes the new CS
 *    and a return address and executes a *far return* (`retfq`);
 * 4. reloads SS, DS and ES with the kernel data selector, and clears FS
 *    and GS.
 *
 * The TSS must wait: its stacks need frames and page tables. Once they
 * exist, `tss_init`:
 *
 * 5. allocates the stacks: IST1 for double faults, IST2 for NMIs, IST3
 *    for machine checks, and `rsp[0]` for the day we run ring 3 code.
 *    The I/O map base points past the end of the TSS, so there is no
 *    I/O permission bitmap, and ring 3 may use no port;
 * 6. writes the TSS descriptor into its two slots;
 * 7. `ltr`: loads the task register with the TSS selector. The CPU
 *    marks the descriptor busy, so this is done once per CPU.
 *
 * Until step 7, no gate may ask for an IST stack (the CPU would find no
 * TSS), so idt.c turns the IST gates on only afterwards.
 *
 * Precondition: interrupts off.
 */
void gdt_init(struct cpu_tables *t)
{
	struct table_register gdtr = { sizeof t->gdt - 1,
				       (uint64_t)t->gdt };

	gdt_fill(t);                                      /* 1. */
	gdt_load(&gdtr, SEL_KERNEL_CODE, SEL_KERNEL_DATA); /* 2-4 */
	kprintf("GDT: code 0x08, data 0x10, user 0x1B/0x23\n");
}

/* Precondition: gdt_init has run; frames and page tables exist. */
void tss_init(struct cpu_tables *t)
{
	static const char *const names[4] = {
		"IST1 (#DF)", "IST2 (NMI)", "IST3 (#MC)", "ring 0 (rsp0)",
	};

	if (tss_fill(t, names) != 0)                      /* 5. */
		panic("gdt: no memory for an interrupt stack");
	tss_descriptor(&t->gdt[5], &t->tss);              /* 6. */
	ltr(SEL_TSS);                                     /* 7. */
	kprintf("TSS 0x28: IST1-3 (#DF, NMI, #MC) below %lX\n",
		(unsigned long)t->ist_top[IST_COUNT]);
}

/**
 * ## Every CPU its own tables
 *
 * Each CPU needs its own TSS, since the TSS holds its interrupt
 * stacks, and so its own GDT, which holds the TSS descriptor (and a
 * TSS descriptor is marked busy by the `ltr` of the CPU that loads
 * it: two CPUs cannot share one). The other CPUs' tables are made by
 * the boot CPU before it starts them (smp.c), because making them
 * needs frames and the kernel stack allocator, and a CPU that has just
 * woken up should take no lock it does not need: `cpu_tables_build`
 * is steps 1, 5 and 6 above, with stacks named after the CPU
 * ("CPU 3's IST1 (#DF)"). The CPU itself then runs
 * `cpu_tables_load`, steps 2-4, 6 and 7: it writes the TSS descriptor
 * again before `ltr`, so that a CPU started a second time (smp.c can
 * do that) finds it "available", not "busy" from its first start,
 * which `ltr` would refuse with a #GP.
 */
int cpu_tables_build(struct cpu_tables *t, unsigned cpu)
{
	static const char *const what[4] = {
		"IST1 (#DF)", "IST2 (NMI)", "IST3 (#MC)", "ring 0 (rsp0)",
	};
	const char *names[4];

	gdt_fill(t);
	for (int i = 0; i < 4; i++) {
		char *name = boot_alloc(32, 1);

		ksnprintf(name, 32, "CPU %u's %s", cpu, what[i]);
		names[i] = name;
	}
	if (tss_fill(t, names) != 0)
		return -1;
	tss_descriptor(&t->gdt[5], &t->tss);
	return 0;
}

/* Precondition: on the CPU itself, interrupts off. */
void cpu_tables_load(struct cpu_tables *t)
{
	struct table_register gdtr = { sizeof t->gdt - 1,
				       (uint64_t)t->gdt };

	gdt_load(&gdtr, SEL_KERNEL_CODE, SEL_KERNEL_DATA);
	tss_descriptor(&t->gdt[5], &t->tss);
	ltr(SEL_TSS);
}

/* Which IST stack (1-3) holds rsp, or 0 if none does. */
int ist_of_stack(const struct cpu_tables *t, uint64_t rsp)
{
	for (int i = 1; i <= IST_COUNT; i++)
		if (rsp >= t->ist_bottom[i] && rsp < t->ist_top[i])
			return i;
	return 0;
}
