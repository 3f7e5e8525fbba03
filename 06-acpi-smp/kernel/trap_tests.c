/*
 * trap_tests.c: self-tests of chapter 03 (descriptor tables) and the
 * scenarios that provoke each kind of exception on purpose.
 */
#include "gdt.h"
#include "kprintf.h"
#include "ksyms.h"
#include "ktest.h"
#include "paging.h"
#include "string.h"
#include "trap.h"
#include "vm.h"
#include "x86.h"

void kmain(uint64_t boot_info_phys);

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

/* Each call takes a 512-byte frame; the boot stack has 124 KiB, so the
 * recursion reaches the guard page below it after about 250 calls. The
 * CPU then cannot push the #PF frame and raises #DF, which runs on IST1. */
static unsigned recurse(unsigned n)
{
	volatile char pad[496];

	pad[0] = (char)n;
	if (n == ~0u)                   /* never true; keeps gcc quiet */
		return 0;
	return recurse(n + 1) + pad[0];
}

SCENARIO(stack_overflow, "overflow the boot stack: a #DF report on IST1")
{
	kprintf("about to overflow the stack\n");
	kprintf("%u\n", recurse(0));
	kprintf("survived a stack overflow\n");
}
