/*
 * boot_tests.c: self-tests of chapter 01, run by the "boot" scenario.
 * Each checks, on the live machine, something the boot path promised.
 */
#include "bootinfo.h"
#include "e820.h"
#include "fwcfg.h"
#include "kprintf.h"
#include "ktest.h"
#include "memmap.h"
#include "panic.h"
#include "string.h"
#include "x86.h"

extern struct boot_info boot_record;
extern long bss_nonzero_at;
extern char __kernel_start[], __kernel_end[], __bss_start[];
extern char kernel_entry[];
extern uint64_t entry_rsp;                 /* entry.asm */

SELFTEST(bss_is_zero)
{
	if (bss_nonzero_at == -1)
		return NULL;
	if (bss_nonzero_at == -2)
		return "kmain did not scan .bss";
	return ktest_why("byte at %p is not zero",
			 (void *)(__bss_start + bss_nonzero_at));
}

/* Initialised data must arrive exactly as the compiler wrote it. The
 * variables are volatile so that gcc reads memory instead of using the
 * values it knows at compile time. */
static volatile uint64_t data_words[3] = {
	0x0123456789ABCDEF, 0xFEDCBA9876543210, 0x5A5A5A5AA5A5A5A5
};
static const volatile char rodata_text[] = "read-only data survives";

SELFTEST(data_is_intact)
{
	if (data_words[0] != 0x0123456789ABCDEF ||
	    data_words[1] != 0xFEDCBA9876543210 ||
	    data_words[2] != 0x5A5A5A5AA5A5A5A5)
		return ktest_why(".data words %lx %lx %lx",
				 (unsigned long)data_words[0],
				 (unsigned long)data_words[1],
				 (unsigned long)data_words[2]);
	if (memcmp((const char *)rodata_text, "read-only data survives",
		   sizeof rodata_text) != 0)
		return "the .rodata string changed";
	return NULL;
}

SELFTEST(boot_record_valid)
{
	const struct boot_info *bi = &boot_record;
	uint64_t rsp = entry_rsp;          /* what the loader handed over */

	if (bi->magic != BOOTINFO_MAGIC)
		return ktest_why("magic %x", bi->magic);
	if (bi->kernel_start != KERNEL_PHYS ||
	    bi->kernel_end != virt_to_phys(__kernel_end))
		return ktest_why("kernel %lx-%lx, linker says %lx-%lx",
				 (unsigned long)bi->kernel_start,
				 (unsigned long)bi->kernel_end,
				 (unsigned long)virt_to_phys(__kernel_start),
				 (unsigned long)virt_to_phys(__kernel_end));
	if (bi->kernel_entry != (uint64_t)kernel_entry)
		return ktest_why("entry %lx, kernel_entry is %p",
				 (unsigned long)bi->kernel_entry,
				 (void *)kernel_entry);
	if (rsp <= (uint64_t)phys_to_virt(bi->stack_base) ||
	    rsp > (uint64_t)phys_to_virt(bi->stack_base + bi->stack_size))
		return ktest_why("entered with rsp %lx, outside the boot "
				 "stack", (unsigned long)rsp);
	if (bi->e820_count < 1 || bi->e820_count > E820_MAX_ENTRIES)
		return ktest_why("%u E820 entries", bi->e820_count);
	return NULL;
}

SELFTEST(e820_invariants)
{
	static char why[96];

	if (memmap_count < 1)
		return "the sanitised map is empty";
	if (e820_check(memmap, memmap_count, why, sizeof why) != 0)
		return ktest_why("%s", why);
	return NULL;
}

/* True if [base, end) is covered entirely by ranges of type `type`. */
static int covered_by(uint64_t base, uint64_t end, uint32_t type)
{
	for (int i = 0; i < memmap_count && base < end; i++) {
		const struct mem_range *r = &memmap[i];

		if (r->base <= base && base < r->end) {
			if (r->type != type)
				return 0;
			base = r->end;
		}
	}
	return base >= end;
}

SELFTEST(e820_kernel_carved_out)
{
	const struct boot_info *bi = &boot_record;

	if (!covered_by(bi->kernel_start, bi->kernel_end, E820_KERNEL))
		return "the kernel image is not marked 'kernel'";
	if (!covered_by(bi->boot_data_start, bi->boot_data_end, E820_BOOT))
		return "the boot data is not marked 'boot'";
	if (!covered_by(bi->stack_base, bi->stack_base + bi->stack_size,
			E820_BOOT))
		return "the boot stack is not marked 'boot'";
	return NULL;
}

/* SeaBIOS answers with 20 bytes, so every stored attribute dword must
 * still hold the 1 the bootloader preset. (A BIOS that gives 24-byte
 * answers writes its own value; then there is nothing to check.) */
SELFTEST(e820_acpi_preset)
{
	if (boot_record.e820_short != (uint32_t)memmap_raw_count)
		return NULL;
	for (int i = 0; i < memmap_raw_count; i++)
		if (memmap_raw[i].acpi != 1)
			return ktest_why("entry %d: acpi %u after a 20-byte "
					 "answer", i, memmap_raw[i].acpi);
	return NULL;
}

/**
 * ### Cross-checking the BIOS with QEMU
 *
 * QEMU tells the BIOS how much RAM there is through the fw_cfg file
 * "etc/e820": 20-byte records of address, length and type. SeaBIOS
 * builds its INT 15h answer from that, then reserves some pieces for
 * itself. So every usable range the BIOS reported must lie inside a RAM
 * range (type 1) of QEMU's own list. This test catches a loader that
 * misreads the BIOS's answers.
 */
struct qemu_e820 {
	uint64_t base, length;
	uint32_t type;
} __attribute__((packed));

SELFTEST(e820_agrees_with_qemu)
{
	static struct qemu_e820 q[32];
	long size = fwcfg_read_file("etc/e820", q, sizeof q);
	int nq;

	if (size < 0)
		return "no etc/e820 file in fw_cfg";
	nq = (int)((size_t)size < sizeof q ? size : (long)sizeof q) /
	     (int)sizeof q[0];
	for (int i = 0; i < memmap_raw_count; i++) {
		const struct e820_entry *e = &memmap_raw[i];
		int inside = 0;

		if (e->type != E820_USABLE)
			continue;
		for (int j = 0; j < nq; j++)
			if (q[j].type == E820_USABLE && q[j].base <= e->base &&
			    e->base + e->length <= q[j].base + q[j].length)
				inside = 1;
		if (!inside)
			return ktest_why("usable %lx+%lx is not RAM for QEMU",
					 (unsigned long)e->base,
					 (unsigned long)e->length);
	}
	return NULL;
}

SELFTEST(kprintf_formats)
{
	char buf[64];

	ksnprintf(buf, sizeof buf, "%d|%5u|%-4x|%08lX|%s|%c", -42, 7u, 0xabu,
		  0xBEEFUL, "ok", '!');
	if (strcmp(buf, "-42|    7|ab  |0000BEEF|ok|!") != 0)
		return ktest_why("got \"%s\"", buf);
	return NULL;
}

/* Scenarios that test the failure paths themselves: a test harness is
 * only trustworthy if we have seen it report a failure. */
SCENARIO(deliberate_panic, "panic on purpose: the run must fail")
{
	panic("deliberate panic from the '%s' scenario", "deliberate_panic");
}

SCENARIO(failing_check, "report one failing check: the run must fail")
{
	ktest_report("always_fails", "this check fails on purpose");
}
