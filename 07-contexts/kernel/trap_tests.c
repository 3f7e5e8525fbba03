/*
 * trap_tests.c: self-tests of chapter 03 (descriptor tables) and the
 * scenarios that provoke each kind of exception on purpose.
 */
#include "gdt.h"
#include "kprintf.h"
#include "ksyms.h"
#include "kstack.h"
#include "ktest.h"
#include "paging.h"
#include "pic.h"
#include "string.h"
#include "trap.h"
#include "vm.h"
#include "x86.h"

void kmain(uint64_t boot_info_phys);
extern struct kstack boot_cpu_stack;          /* main.c */

SELFTEST(gdt_and_tss_loaded)
{
	struct table_register gdtr;
	uint16_t cs, ss, tr;

	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	__asm__ volatile("mov %%ss, %0" : "=r"(ss));
	__asm__ volatile("str %0" : "=r"(tr));
	if (gdtr.base != (uint64_t)cpu0_tables.gdt ||
	    gdtr.limit != sizeof cpu0_tables.gdt - 1)
		return ktest_why("GDTR %lx/%u", (unsigned long)gdtr.base,
				 gdtr.limit);
	if (cs != SEL_KERNEL_CODE || ss != SEL_KERNEL_DATA ||
	    tr != SEL_TSS)
		return ktest_why("cs %x ss %x tr %x", cs, ss, tr);
	return NULL;
}

/* The TSS descriptor as the CPU reads it. LSL ("load segment limit")
 * asks the CPU itself for the limit, which must be the TSS's size minus
 * one (Redox 0.3.5 uses the size). The base is spread over both slots
 * (gdt.c); put together it must be the TSS's address, the type "busy
 * 64-bit TSS" (0xB) after ltr, and the DPL 0. */
SELFTEST(tss_descriptor_right)
{
	uint64_t d0 = cpu0_tables.gdt[5], d1 = cpu0_tables.gdt[6];
	uint64_t base = ((d0 >> 16) & 0xFFFFFF) | ((d0 >> 56) & 0xFF) << 24 |
			(d1 & 0xFFFFFFFF) << 32;
	uint32_t limit = 0;
	uint8_t ok = 0;

	__asm__ volatile("lsl %2, %0; setz %1"
			 : "+r"(limit), "=r"(ok) : "r"((uint32_t)SEL_TSS));
	if (!ok || limit != sizeof(struct tss) - 1)
		return ktest_why("LSL says limit %#x (valid %u), want %#x",
				 limit, ok, (unsigned)sizeof(struct tss) - 1);
	if (base != (uint64_t)&cpu0_tables.tss)
		return ktest_why("TSS base %lx, the TSS is at %p",
				 (unsigned long)base, (void *)&cpu0_tables.tss);
	if (((d0 >> 40) & 0xF) != 0xB || ((d0 >> 45) & 3) != 0 ||
	    !(d0 & (1ull << 47)))
		return ktest_why("TSS access byte %02lx, want 0x8B",
				 (unsigned long)((d0 >> 40) & 0xFF));
	return NULL;
}

/* The boot CPU left the bootloader's stack for a guarded one. */
SELFTEST(boot_cpu_on_guarded_stack)
{
	uint64_t rsp = (uint64_t)__builtin_frame_address(0);
	struct page_info pi;

	if (rsp < boot_cpu_stack.bottom || rsp >= boot_cpu_stack.top)
		return ktest_why("rsp %lx is not in the kernel stack %lx-%lx",
				 (unsigned long)rsp,
				 (unsigned long)boot_cpu_stack.bottom,
				 (unsigned long)boot_cpu_stack.top);
	if (page_translate(kernel_pml4, boot_cpu_stack.bottom - 8, &pi) !=
	    PAGE_ERR_NOT_MAPPED)
		return "the page below the boot CPU's stack is mapped";
	if (boot_cpu_stack.top - boot_cpu_stack.bottom !=
	    KSTACK_MAX_PAGES * PAGE_SIZE)
		return "the boot CPU's stack is not of the largest size";
	return NULL;
}

/* Every IST stack is mapped, and the page below it is not. */
SELFTEST(ist_stacks_have_guard_pages)
{
	for (int i = 1; i <= IST_COUNT; i++) {
		uint64_t top = cpu0_tables.tss.ist[i - 1];
		struct page_info pi;

		if (top != cpu0_tables.ist_top[i])
			return ktest_why("IST%d not in the TSS", i);
		if (page_translate(kernel_pml4, top - 8, &pi) != 0)
			return ktest_why("IST%d top not mapped", i);
		if (page_translate(kernel_pml4, cpu0_tables.ist_bottom[i] - 8,
				   &pi) != PAGE_ERR_NOT_MAPPED)
			return ktest_why("IST%d has no guard page", i);
	}
	return NULL;
}

SELFTEST(int3_returns)
{
	uint64_t before = trap_count(T_BREAKPOINT);

	__asm__ volatile("int3");
	if (trap_count(T_BREAKPOINT) != before + 1)
		return "the breakpoint handler did not run once";
	return NULL;
}

SELFTEST(symbols_name_functions)
{
	char buf[64];

	ksym_format((uint64_t)kmain + 1, buf, sizeof buf);
	if (strcmp(buf, "kmain+0x1") != 0)
		return ktest_why("got \"%s\"", buf);
	return NULL;
}

/**
 * ### Real and spurious PIC interrupts
 *
 * The two self-tests below put the real 8259s into the states that
 * `pic_irq_is_spurious()` must tell apart, with interrupts off. A real
 * IRQ 7 comes from the parallel port at 0x378: with its interrupt
 * enabled, a strobe pulse raises IRQ 7, as a printer's acknowledge
 * would. Polling the master then takes it into service, as the CPU
 * would. A real request on the slave comes from the CMOS clock's
 * periodic interrupt (IRQ 8, 1024 times a second); polling only the
 * master takes the cascade line into service and leaves the slave
 * alone, which is the state a spurious IRQ 15 leaves behind.
 */
#define LPT_STATUS 0x379
#define LPT_CONTROL 0x37A
#define LPT_INIT_SELECT 0x0C             /* not resetting, selected */
#define LPT_IRQ_ENABLE 0x10
#define LPT_STROBE 0x01
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define RTC_REG_B 0x0B
#define RTC_REG_C 0x0C
#define RTC_PERIODIC 0x40                /* register B: PIE */

/* Wait (with a limit) until one of `bits` is requested at the PIC. */
static int wait_requested(uint16_t bits)
{
	for (long i = 0; i < 50000000; i++) {
		if (pic_requested() & bits)
			return 1;
		cpu_relax();
	}
	return 0;
}

SELFTEST(pic_tells_real_irq7_from_spurious)
{
	const char *why = NULL;
	int irq;

	pic_set_masks((uint16_t)~(1u << 7));            /* IRQ 7 only */
	outb(LPT_CONTROL, LPT_INIT_SELECT | LPT_IRQ_ENABLE | LPT_STROBE);
	outb(LPT_CONTROL, LPT_INIT_SELECT | LPT_IRQ_ENABLE);
	if (!wait_requested(1u << 7))
		why = "no IRQ 7 from the parallel port";
	else if ((irq = pic_poll(false)) != 7)
		why = ktest_why("polling the master gave IRQ %d", irq);
	else if (pic_irq_is_spurious(7))
		why = "an IRQ 7 in service was called spurious";
	pic_eoi(7);
	if (!why && !pic_irq_is_spurious(7))
		why = "an IRQ 7 not in service was called real";
	(void)inb(LPT_STATUS);                  /* drops the port's request */
	outb(LPT_CONTROL, LPT_INIT_SELECT);
	pic_set_masks(0xFFFF);
	if (!why && pic_in_service())
		why = ktest_why("in service afterwards: %#x", pic_in_service());
	return why;
}

SELFTEST(pic_spurious_irq15_ends_master_cascade)
{
	const char *why = NULL;
	uint8_t b;
	int irq;

	pic_set_masks((uint16_t)~(1u << 2 | 1u << 8));  /* cascade, clock */
	outb(CMOS_INDEX, RTC_REG_B);
	b = inb(CMOS_DATA);
	outb(CMOS_INDEX, RTC_REG_B);
	outb(CMOS_DATA, b | RTC_PERIODIC);
	if (!wait_requested(1u << 8))
		why = "no IRQ 8 from the clock";
	else if ((irq = pic_poll(false)) != 2)
		why = ktest_why("polling the master gave IRQ %d, not the "
				"cascade", irq);
	else if (pic_in_service() != 1u << 2)
		why = ktest_why("in service: %#x", pic_in_service());
	else if (!pic_irq_is_spurious(15))
		why = "IRQ 15, not in service at the slave, was called real";
	else if (pic_in_service() != 0)
		why = ktest_why("after a spurious IRQ 15 still in service: %#x "
				"(no EOI to the master)", pic_in_service());
	outb(CMOS_INDEX, RTC_REG_B);
	outb(CMOS_DATA, b);
	outb(CMOS_INDEX, RTC_REG_C);
	(void)inb(CMOS_DATA);                   /* acknowledges the clock */
	if (pic_in_service())
		pic_eoi(2);
	pic_set_masks(0xFFFF);
	return why;
}

/* A spurious IRQ 7 looks like vector 0x27 with the PIC's in-service bit
 * clear; `int $0x27` produces exactly that. */
SCENARIO(spurious_irq7, "a spurious PIC interrupt is ignored")
{
	__asm__ volatile("int $0x27");
	kprintf("returned from the spurious interrupt\n");
	ktest_report("spurious_irq7", NULL);
}

/* The same for IRQ 15, the slave's: the master saw a real interrupt on
 * its cascade line (IRQ 2), so it still needs an end-of-interrupt. */
SCENARIO(spurious_irq15, "a spurious IRQ 15 is ignored")
{
	__asm__ volatile("int $0x2f");
	kprintf("returned from the spurious interrupt\n");
	ktest_report("spurious_irq15", NULL);
}

SCENARIO(divide_by_zero, "divide by zero: a #DE report")
{
	volatile unsigned hundred = 100, zero = 0;

	kprintf("about to divide by zero\n");
	kprintf("%u\n", hundred / zero);
	kprintf("survived a division by zero\n");
}

/**
 * ### One scenario per reportable exception
 *
 * Each provokes one exception the way a kernel bug would, or with
 * `int n` where no instruction of ring 0 can (the CPU then runs the
 * same gate; `int n` pushes no error code, so it serves only vectors
 * without one). The tests check the name the report gives it.
 */
SCENARIO(general_protection, "load DS with a selector past the GDT: #GP")
{
	kprintf("about to load selector 0x40, beyond the GDT's end\n");
	__asm__ volatile("mov %0, %%ds" : : "r"(0x40));
	kprintf("survived a bad selector\n");
}

SCENARIO(invalid_opcode, "execute ud2: #UD")
{
	kprintf("about to execute ud2\n");
	__asm__ volatile("ud2");
	kprintf("survived ud2\n");
}

/* Loading SS with a descriptor marked not present raises #SS (any
 * other segment register: #NP). The scenario first marks the GDT's
 * user data descriptor (0x18) not present and gives it DPL 0, so that
 * ring 0 may load it into SS; the report ends the run, so nothing else
 * ever sees the damaged table. (A non-canonical address through RSP
 * or RBP raises #SS on real CPUs too, but QEMU's TCG gives #GP.) */
SCENARIO(stack_segment, "load SS from a not-present descriptor: #SS")
{
	cpu0_tables.gdt[3] &= ~(1ull << 47 | 3ull << 45);  /* P = 0, DPL 0 */
	kprintf("about to load SS with a not-present segment\n");
	__asm__ volatile("mov %0, %%ss" : : "r"(SEL_USER_DATA & ~3));
	kprintf("survived a not-present stack segment\n");
}

/* CR0.TS set (as a kernel that switches FPU state lazily would leave
 * it) makes the next x87 instruction raise #NM. */
SCENARIO(device_not_available, "an x87 instruction with CR0.TS: #NM")
{
	kprintf("about to run fninit with CR0.TS set\n");
	write_cr0(read_cr0() | CR0_TS);
	__asm__ volatile("fninit");
	kprintf("survived fninit\n");
}

/* The trap flag (RFLAGS bit 8) makes the CPU raise #DB after every
 * instruction, the way a debugger single-steps. */
SCENARIO(debug_trap, "set the trap flag: a single-step #DB")
{
	kprintf("about to single-step\n");
	__asm__ volatile("pushfq\n\t"
			 "orq $0x100, (%%rsp)\n\t"
			 "popfq\n\t"
			 "nop" : : : "memory", "cc");
	kprintf("survived single-stepping\n");
}

SCENARIO(nmi, "int $2: the NMI handler, on IST2")
{
	kprintf("about to raise vector 2\n");
	__asm__ volatile("int $2");
	kprintf("survived an NMI\n");
}

SCENARIO(overflow_trap, "int $4: #OF (into is gone in 64-bit mode)")
{
	kprintf("about to raise vector 4\n");
	__asm__ volatile("int $4");
	kprintf("survived #OF\n");
}

SCENARIO(bound_range, "int $5: #BR (bound is gone in 64-bit mode)")
{
	kprintf("about to raise vector 5\n");
	__asm__ volatile("int $5");
	kprintf("survived #BR\n");
}

/* A machine check must come from outside: tests/machine-check types
 * QEMU's monitor command `mce` once this line appears. The wait is
 * bounded, so that a check that never comes ends the run too. */
SCENARIO(machine_check, "wait for an injected machine check: #MC on IST3")
{
	uint64_t t0 = rdtsc();

	kprintf("waiting for a machine check\n");
	while (rdtsc() - t0 < (40ull << 30))
		cpu_relax();
	kprintf("no machine check arrived\n");
}

/**
 * ### Overflowing a kernel stack
 *
 * Each call of `recurse` takes a frame of about 512 bytes; the boot
 * CPU's kernel stack has 60 KiB, so after about 120 calls a push lands
 * in the guard page below it. The CPU then cannot push the #PF frame
 * either, and raises #DF, which runs on IST1.
 *
 * `recurse_large` takes frames of 6000 bytes, more than a page. With
 * `-fstack-clash-protection` (tools/chapter.mk) its prologue touches
 * every page it moves RSP over, so it too hits the guard page. Without
 * it, the first byte written into the new frame may lie *below* the
 * guard page, inside the stack under it, and the overflow would go on
 * silently there; the test checks that CR2 is this stack's guard page.
 */
/* noinline: at -O2 gcc would otherwise inline a few levels of the
 * recursion into one frame, over the 1 KiB frame limit. */
static __attribute__((noinline)) unsigned recurse(unsigned n)
{
	volatile char pad[496];

	pad[0] = (char)n;
	if (n == ~0u)                   /* never true; keeps gcc quiet */
		return 0;
	return recurse(n + 1) + pad[0];
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wframe-larger-than="
static unsigned recurse_large(unsigned n)
{
	volatile char pad[6000];

	pad[0] = (char)n;               /* the frame's far end */
	if (n == ~0u)
		return 0;
	return recurse_large(n + 1) + pad[0];
}
#pragma GCC diagnostic pop

SCENARIO(stack_overflow, "overflow the kernel stack: a #DF report on IST1")
{
	kprintf("about to overflow the stack\n");
	kprintf("%u\n", recurse(0));
	kprintf("survived a stack overflow\n");
}

SCENARIO(stack_overflow_large, "overflow it with frames of 6000 bytes")
{
	kprintf("about to overflow the stack with large frames\n");
	kprintf("%u\n", recurse_large(0));
	kprintf("survived a stack overflow\n");
}
