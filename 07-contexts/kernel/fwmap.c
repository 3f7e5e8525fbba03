/*
 * fwmap.c: maps firmware tables and device registers into the kernel's
 * own page tables, each with the permissions and caching it needs.
 */
#include "fwmap.h"
#include "kprintf.h"
#include "memmap.h"
#include "paging.h"
#include "vm.h"

/**
 * ## The firmware window
 *
 * The direct map (vm.c) covers RAM. Two other kinds of physical memory
 * matter from this chapter on:
 *
 * - **ACPI tables**. QEMU puts them at the top of RAM below 4 GiB, in
 *   memory the E820 map calls *reserved* (0x7FFE0000 and up on a 2 GiB
 *   machine), and the RSDP in the BIOS area at 0xE0000-0xFFFFF, which
 *   is reserved too: neither is in the direct map. Firmware elsewhere
 *   uses the E820 type "ACPI" (3), which is RAM and is mapped.
 * - **Device registers**, reached by loads and stores (*memory-mapped
 *   I/O*, MMIO): the local APIC at 0xFEE00000, the I/O APIC at
 *   0xFEC00000, the HPET at 0xFED00000. They are not memory at all: a
 *   read of the local APIC's timer register returns the count *now*,
 *   and a write to its end-of-interrupt register is a command.
 *
 * Both get their own window, PML4 slot 507, mapped in the kernel's own
 * tables, so that every address space of later chapters (and every
 * CPU) sees them. Redox 0.3.5 instead maps ACPI tables and the HPET
 * with identity mappings in the low half of the bootloader's tables,
 * the half that belongs to user programs, and without any caching
 * bits. The window is a second direct map, but sparse and split in two
 * halves:
 *
 * | half | virtual address | pages | memory type |
 * |---|---|---|---|
 * | tables | FW_TABLES + physical | read-only, NX | write-back |
 * | registers | FW_MMIO + physical | read-write, NX | uncached (UC) |
 *
 * A page is present only once someone maps it, and then for good.
 * Because the virtual address follows from the physical one, mapping
 * a page twice is harmless: the second request finds the page there
 * (PAGE_ERR_EXISTS from the mapper) and uses it. That matters for ACPI,
 * whose walk (acpi.c) maps a table's 36-byte header first and then the
 * whole table, and whose tables share pages.
 *
 * ### Why registers must be uncached
 *
 * A cached read may be answered from the CPU's cache without reaching
 * the device, and a cached write may sit in the cache and reach the
 * device late, merged with others, or never. For RAM that is the
 * point; for a device it is wrong. The page's memory type is picked by
 * its PWT, PCD and PAT bits through the PAT (pat.c): PWT and PCD set,
 * PAT clear, is entry 3, *uncached* (UC): every access goes to the
 * device, in program order. Firmware also marks these ranges uncached
 * in the *MTRRs*, ranges of physical memory with a memory type each,
 * and the CPU combines the two, UC winning; Redox relies on the MTRRs
 * alone. A page's own type is explicit, and does not depend on what
 * firmware set up.
 *
 * Mapping one physical page twice with *different* memory types is
 * something the Intel manual warns against (vol. 3, "Memory Type
 * Aliasing"): the cache may then hold a line the uncached mapping
 * bypasses. So a register range that overlaps RAM, or a page already
 * mapped in the other half, is refused.
 *
 * Precondition: the boot CPU, before the other CPUs run. (The mapper
 * has its own lock; the window's pages are checked, then mapped, and
 * no other CPU may map between the two.)
 */
#define TABLE_FLAGS (PTE_G | PTE_NX)
#define MMIO_FLAGS (PTE_W | PTE_G | PTE_NX | PTE_PCD | PTE_PWT)

static uint64_t page_down(uint64_t a)
{
	return a & ~(PAGE_SIZE - 1);
}

/* Does [lo, hi) overlap memory the E820 map calls RAM? */
static int overlaps_ram(uint64_t lo, uint64_t hi)
{
	for (int i = 0; i < memmap_count; i++) {
		const struct mem_range *r = &memmap[i];

		if (r->type != E820_RESERVED && r->type != E820_UNUSABLE &&
		    r->base < hi && r->end > lo)
			return 1;
	}
	return 0;
}

static int mapped(uint64_t va)
{
	struct page_info pi;

	return page_translate(kernel_pml4, va, &pi) == 0;
}

/* Check a request; on success set the page range [*lo, *hi). */
static int request_ok(const char *what, uint64_t phys, size_t size,
		      uint64_t *lo, uint64_t *hi)
{
	if (size == 0)
		size = 1;
	if (size > FW_MAP_MAX || phys >= FW_PHYS_LIMIT ||
	    size > FW_PHYS_LIMIT - phys) {
		kprintf("fwmap: %s %lx, %lu bytes: outside the firmware "
			"window\n", what, (unsigned long)phys,
			(unsigned long)size);
		return 0;
	}
	*lo = page_down(phys);
	*hi = page_down(phys + size - 1) + PAGE_SIZE;
	return 1;
}

/* Map every page of [lo, hi) at base + its address, reusing those
 * that are there; 0, or the mapper's error. */
static int map_pages(uint64_t base, uint64_t lo, uint64_t hi,
		     uint64_t flags)
{
	for (uint64_t p = lo; p < hi; p += PAGE_SIZE) {
		int err = page_map(kernel_pml4, base + p, p, flags);

		if (err != 0 && err != PAGE_ERR_EXISTS)
			return err;
	}
	return 0;
}

/* Map [phys, phys + size) in the half at `base` with `flags`, unless a
 * page of it is mapped in the other half, at `other`: the address in
 * the window, or NULL with a message. */
static uint64_t map_in(const char *what, uint64_t base, uint64_t other,
		       uint64_t flags, uint64_t phys, size_t size)
{
	uint64_t lo, hi;
	int err;

	if (!request_ok(what, phys, size, &lo, &hi))
		return 0;
	for (uint64_t p = lo; p < hi; p += PAGE_SIZE) {
		if (mapped(other + p)) {
			kprintf("fwmap: %s at %lx: a page of it is mapped with "
				"another memory type\n", what,
				(unsigned long)phys);
			return 0;
		}
	}
	err = map_pages(base, lo, hi, flags);
	if (err != 0) {
		kprintf("fwmap: %s at %lx: %s\n", what, (unsigned long)phys,
			page_strerror(err));
		return 0;
	}
	return base + phys;
}

const void *fw_map_table(uint64_t phys, size_t size)
{
	return (const void *)map_in("table", FW_TABLES, FW_MMIO, TABLE_FLAGS,
				    phys, size);
}

volatile void *fw_map_mmio(uint64_t phys, size_t size)
{
	uint64_t last = phys + (size ? size - 1 : 0);

	if (overlaps_ram(page_down(phys), page_down(last) + PAGE_SIZE)) {
		kprintf("fwmap: registers at %lx overlap RAM; not mapped "
			"uncached\n", (unsigned long)phys);
		return NULL;
	}
	return (volatile void *)map_in("registers", FW_MMIO, FW_TABLES,
				       MMIO_FLAGS, phys, size);
}

const char *fw_region_name(uint64_t va)
{
	if (va >= FW_TABLES && va < FW_TABLES + FW_PHYS_LIMIT)
		return "firmware tables (ACPI), write-back";
	if (va >= FW_MMIO && va < FW_MMIO + FW_PHYS_LIMIT)
		return "device registers, uncached (PAT 3)";
	return NULL;
}
