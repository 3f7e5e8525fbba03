/*
 * main.c: kmain, the kernel's C entry point, called by entry.asm. It
 * brings the subsystems up one per line, in order, and then either runs
 * the test scenario the test runner asked for or halts.
 */
#include "acpi_setup.h"
#include "bootinfo.h"
#include "clock.h"
#include "console.h"
#include "context.h"
#include "cpu.h"
#include "frame.h"
#include "gdt.h"
#include "heap.h"
#include "idt.h"
#include "kstack.h"
#include "ktest.h"
#include "kprintf.h"
#include "lapic.h"
#include "memmap.h"
#include "panic.h"
#include "percpu.h"
#include "pic.h"
#include "smp.h"
#include "string.h"
#include "vm.h"
#include <stddef.h>

/**
 * # The kernel's main line
 *
 * Chapter 01 brought the kernel from the boot record to the memory
 * map; chapter 02 adds the two lines after it that matter most: a frame
 * allocator over the sanitised map, and the kernel's own page tables.
 * Chapter 03 loads descriptor tables as kmain's very first step, so
 * that an exception anywhere in the boot gets a report instead of
 * resetting the machine. Once there are frames and page tables, it adds
 * the TSS with its interrupt stacks and moves the boot CPU onto a
 * kernel stack with a guard page (`kmain_continue` runs there).
 * Chapter 04 replaces the frame allocator with one that frees and
 * merges. It gets
 * only the first 1 GiB before vm_init(), because vm_init() fills its
 * new tables through the bootloader's map of that gigabyte, and the
 * rest after it (frame_setup.c). Chapter 05 adds the kernel heap, as
 * soon as there are frames and page tables to build it from: from then
 * on the kernel can kmalloc() (heap.c). Chapter 06 gives the boot CPU
 * its per-CPU data from the first line on (percpu.c), then reads the
 * firmware's ACPI tables, sets up the local APIC, lists the CPUs,
 * calibrates a clock (lapic.c, acpi_setup.c, clock.c), and starts every
 * other CPU (smp.c): from `smp_start()` on, every lock, the frame
 * allocator, the mapper and the console serve them all. Chapter 07
 * makes the code that runs on each CPU its first *context*
 * (context.c), before the other CPUs start, and ends the boot in the
 * contexts' idle loop instead of a plain halt; a normal boot first
 * greets every CPU from a context spawned on it (`greet_every_cpu`).
 *
 * ## From the boot record to the memory map
 *
 * By the time `kmain` runs, the bootloader has done the hard part: the
 * CPU is in 64-bit long mode, paging is on, the kernel's segments are
 * where the ELF file asked, `.bss` is zero, and RDI points at the boot
 * record. `kmain` takes it from there.
 *
 * The very first thing it does is check that `.bss` really is zero,
 * *before* any code writes to a zero-initialised variable: C promises
 * that such variables start at zero, and here it is the loader that
 * keeps that promise (`zero_high` in `boot/elf.inc`). The result is kept
 * in a variable that lives in `.data`, so recording it does not disturb
 * what is being checked; the `bss_is_zero` self-test reports it.
 */
struct boot_info boot_record;
long bss_nonzero_at __attribute__((section(".data"))) = -2;

extern char __bss_start[], __bss_end[];

/* Offset of the first non-zero byte of .bss, or -1 if all are zero. */
static long bss_scan(void)
{
	for (char *p = __bss_start; p < __bss_end; p++)
		if (*p)
			return p - __bss_start;
	return -1;
}

/* The NASM side reads the record through the BI_* offsets in bootinfo.h;
 * the compiler proves here that they match the C struct. */
_Static_assert(offsetof(struct boot_info, kernel_entry) == BI_KERNEL_ENTRY,
	       "BI_KERNEL_ENTRY");
_Static_assert(offsetof(struct boot_info, e820_count) == BI_E820_COUNT,
	       "BI_E820_COUNT");
_Static_assert(offsetof(struct boot_info, flags) == BI_FLAGS, "BI_FLAGS");
_Static_assert(offsetof(struct boot_info, boot_drive) == BI_BOOT_DRIVE,
	       "BI_BOOT_DRIVE");
_Static_assert(sizeof(struct boot_info) == BI_SIZE, "BI_SIZE");

/* Copy the boot record into the kernel and check that it is one. */
static void boot_record_load(uint64_t phys)
{
	const struct boot_info *bi = phys_to_virt(phys);

	if (bi->magic != BOOTINFO_MAGIC || bi->version != BOOTINFO_VERSION)
		panic("no valid boot record at %lx (magic %x, version %u)",
		      (unsigned long)phys, bi->magic, bi->version);
	boot_record = *bi;
}

/* The boot CPU's kernel stack, from kstack.c. */
struct kstack boot_cpu_stack;

static _Noreturn void kmain_continue(void);

/* A normal boot's last step, in a context on CPU 0 (kmain's own, the
 * idle context, may not wait in a join): one context on each CPU, up
 * to 8, each saying where it runs; each returns its CPU's index, which
 * the join collects. */
static long greet(void *arg)
{
	struct context *me = context_current();

	kprintf("context %ld '%s' running on CPU %u\n", me->id, me->name,
		this_cpu()->index);
	return (long)(uintptr_t)arg;
}

static long greet_every_cpu(void *unused)
{
	unsigned n = cpu_count() < 8 ? cpu_count() : 8;
	ctx_id_t ids[8];
	char name[CTX_NAME_LEN];
	long r;

	(void)unused;
	for (unsigned i = 0; i < n; i++) {
		ksnprintf(name, sizeof name, "hello/%u", i);
		ids[i] = context_spawn(greet, (void *)(uintptr_t)i, name, i);
	}
	for (unsigned i = 0; i < n; i++)
		if (ids[i] > 0 && context_join(ids[i], &r) == 0)
			kprintf("joined context %ld: it returned %ld\n",
				ids[i], r);
	return 0;
}

void kmain(uint64_t boot_info_phys)
{
	bss_nonzero_at = bss_scan();          /* before .bss is written */
	console_init();                       /* serial port and screen */
	kprintf("kernel: running at %p, boot record at %lx\n",
		(void *)kmain, (unsigned long)boot_info_phys);
	gdt_init(&cpu0_tables);               /* tables in the kernel image: */
	percpu_install(&cpu_boot);            /* this_cpu(), for locks */
	idt_init();                           /* faults are reported now */
	cpu_init_features();                  /* PAT, NX, PGE, WP, MCE */
	boot_record_load(boot_info_phys);
	memmap_init(&boot_record);            /* print and sanitise E820 */
	kprintf("Kernel: %lX:%lX\n", (unsigned long)boot_record.kernel_start,
		(unsigned long)boot_record.kernel_end);
	kprintf("Stack: %lX:%lX\n",
		(unsigned long)phys_to_virt(boot_record.stack_base),
		(unsigned long)phys_to_virt(boot_record.stack_base +
					    boot_record.stack_size));
	ktest_fault_point("before_vm");       /* (tests: a fault here) */
	frame_setup_low();                    /* buddy frames below 1 GiB */
	vm_init(&boot_record);                /* own page tables, W^X */
	frame_setup_high();                   /* and the RAM above 1 GiB */
	heap_setup();                         /* kmalloc: 1 MiB mapped */
	ktest_fault_point("after_vm");
	tss_init(&cpu0_tables);               /* TSS, IST stacks */
	idt_use_ist();                        /* #DF, NMI, #MC use them */
	if (kstack_alloc(KSTACK_MAX_PAGES, "boot CPU's kernel",
			 &boot_cpu_stack) != 0)
		panic("no memory for the boot CPU's kernel stack");
	kprintf("Kernel stack: %lX-%lX, guard page below\n",
		(unsigned long)boot_cpu_stack.bottom,
		(unsigned long)boot_cpu_stack.top);
	kstack_switch(boot_cpu_stack.top, kmain_continue);
}

/* The rest of the boot, on the boot CPU's guarded kernel stack. */
static _Noreturn void kmain_continue(void)
{
	const char *scenario;

	pic_init();                           /* remapped, all masked */
	lapic_setup();                        /* the boot CPU's local APIC */
	acpi_setup();                         /* ACPI tables, the MADT */
	percpu_setup();                       /* a struct cpu for each CPU */
	clock_setup();                        /* TSC, LAPIC timer measured */
	context_setup_cpu(this_cpu());        /* this code: context idle/0 */
	smp_start();                          /* every other CPU online */
	vm_print_layout();
	kprintf("Frames: %lu free, %lu used\n",
		(unsigned long)frame_free_count(),
		(unsigned long)frame_used_count());

	scenario = ktest_scenario_name();     /* set by the test runner */
	if (scenario)
		ktest_run_scenario(scenario);
	context_run_here(greet_every_cpu, NULL, "greeter", NULL);
	kprintf("Boot complete; halting. (In a terminal, Ctrl-A X quits "
		"QEMU.)\n");
	context_idle();                       /* halted until there is work */
}
