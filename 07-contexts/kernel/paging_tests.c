/*
 * paging_tests.c: self-tests of chapter 02, run on the live page tables
 * by the "boot" scenario, plus scenarios that must fault and a
 * map/unmap benchmark.
 */
#include "bootinfo.h"
#include "frame.h"
#include "kprintf.h"
#include "ktest.h"
#include "memmap.h"
#include "paging.h"
#include "vm.h"
#include "x86.h"

extern struct boot_info boot_record;
extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __bss_end[];

/* Check that every page of [lo, hi) maps to virt - KERNEL_WINDOW with
 * exactly the W and NX bits given. */
static const char *check_section(const char *what, char *lo, char *hi,
				 uint64_t want)
{
	for (char *p = lo; p < hi; p += PAGE_SIZE) {
		struct page_info pi;
		int err = page_translate(kernel_pml4, (uint64_t)p, &pi);

		if (err)
			return ktest_why("%s page %p: %s", what, (void *)p,
					 page_strerror(err));
		if (pi.phys != virt_to_phys(p))
			return ktest_why("%s page %p maps to %lx", what,
					 (void *)p, (unsigned long)pi.phys);
		if ((pi.flags & (PTE_W | PTE_NX | PTE_G)) != want)
			return ktest_why("%s page %p has flags %lx", what,
					 (void *)p, (unsigned long)pi.flags);
	}
	return NULL;
}

SELFTEST(sections_have_their_permissions)
{
	const char *why;

	if ((why = check_section("text", __text_start, __text_end, PTE_G)))
		return why;
	if ((why = check_section("rodata", __rodata_start, __rodata_end,
				 PTE_G | PTE_NX)))
		return why;
	return check_section("data", __data_start, __bss_end,
			     PTE_G | PTE_W | PTE_NX);
}

/* Walk every mapping of the kernel half: none may be both writable and
 * executable. The walk is independent of vm.c's, on purpose. */
static uint64_t wx_pages;

static void wx_walk(uint64_t table, int level)
{
	const uint64_t *e = pt_phys_to_virt(table);

	for (int i = level == 4 ? 256 : 0; i < 512; i++) {
		if (!(e[i] & PTE_P))
			continue;
		if (level == 1 || (e[i] & PTE_PS)) {
			if ((e[i] & PTE_W) && !(e[i] & PTE_NX))
				wx_pages++;
		} else {
			wx_walk(e[i] & PTE_ADDR, level - 1);
		}
	}
}

SELFTEST(no_page_is_writable_and_executable)
{
	wx_pages = 0;
	wx_walk(kernel_pml4, 4);
	return wx_pages ? ktest_why("%lu W+X mappings",
				    (unsigned long)wx_pages) : NULL;
}

SELFTEST(identity_map_and_null_page_gone)
{
	struct page_info pi;

	if (read_cr3() != kernel_pml4)
		return "CR3 is not the kernel's PML4";
	if (page_translate(kernel_pml4, 0, &pi) != PAGE_ERR_NOT_MAPPED)
		return "virtual address 0 is mapped";
	if (page_translate(kernel_pml4, KERNEL_PHYS, &pi) !=
	    PAGE_ERR_NOT_MAPPED)
		return "the identity map of 1 MiB is still there";
	return NULL;
}

SELFTEST(stack_guard_page_unmapped)
{
	const struct boot_info *bi = &boot_record;
	uint64_t stack = (uint64_t)phys_to_virt(bi->stack_base);
	struct page_info pi;

	if (page_translate(kernel_pml4, stack - PAGE_SIZE, &pi) !=
	    PAGE_ERR_NOT_MAPPED)
		return "the page below the boot stack is mapped";
	for (uint64_t p = stack; p < stack + bi->stack_size; p += PAGE_SIZE)
		if (page_translate(kernel_pml4, p, &pi) ||
		    (pi.flags & (PTE_W | PTE_NX)) != (PTE_W | PTE_NX))
			return ktest_why("stack page %lx is not RW+NX",
					 (unsigned long)p);
	return NULL;
}

/* All usable RAM is reachable through the direct map, at the right
 * frame, never executable; the one exception is the stack's guard page,
 * which lies in usable low memory on purpose. */
SELFTEST(direct_map_covers_ram)
{
	uint64_t guard = boot_record.stack_base - PAGE_SIZE;

	for (int i = 0; i < memmap_count; i++) {
		const struct mem_range *r = &memmap[i];
		uint64_t probe[2] = { r->base, r->end - PAGE_SIZE };

		if (r->type != E820_USABLE)
			continue;
		for (int j = 0; j < 2; j++) {
			if (probe[j] == guard)
				continue;
			struct page_info pi;
			uint64_t va = probe[j] + KERNEL_WINDOW;

			if (page_translate(kernel_pml4, va, &pi) ||
			    pi.phys != probe[j] || !(pi.flags & PTE_NX))
				return ktest_why("RAM at %lx is not in the "
						 "direct map",
						 (unsigned long)probe[j]);
		}
	}
	return NULL;
}

/* Map 1000 fresh pages at an unused place, write and read them through
 * the new mapping, unmap them: every frame must come back. The low half
 * is used so that the mapper frees all the tables it made. */
#define TEST_VA 0x0000400000000000ull
#define TEST_PAGES 1000

static const char *map_cycle(uint64_t base)
{
	for (uint64_t i = 0; i < TEST_PAGES; i++) {
		uint64_t pa;
		int err;

		if (frame_alloc(1, &pa))
			return "out of frames";
		err = page_map(kernel_pml4, base + i * PAGE_SIZE, pa,
			       PTE_W | PTE_NX);
		if (err)
			return ktest_why("map: %s", page_strerror(err));
		*(volatile uint64_t *)(base + i * PAGE_SIZE) = i ^ pa;
	}
	for (uint64_t i = 0; i < TEST_PAGES; i++) {
		uint64_t pa, got = *(volatile uint64_t *)(base + i * PAGE_SIZE);
		int err = page_unmap(kernel_pml4, base + i * PAGE_SIZE, &pa);

		if (err)
			return ktest_why("unmap: %s", page_strerror(err));
		if (got != (i ^ pa))
			return ktest_why("page %lu read back %lx",
					 (unsigned long)i, (unsigned long)got);
		frame_free(pa, 1);
	}
	return NULL;
}

SELFTEST(map_unmap_cycles_do_not_leak)
{
	uint64_t before = frame_free_count();
	const char *why;

	for (int cycle = 0; cycle < 3; cycle++) {
		if ((why = map_cycle(TEST_VA)))
			return why;
		if (frame_free_count() != before)
			return ktest_why("cycle %d: %lu frames free, %lu "
					 "before", cycle,
					 (unsigned long)frame_free_count(),
					 (unsigned long)before);
	}
	return NULL;
}

/**
 * ## Faults on purpose
 *
 * These scenarios break the rules the tables enforce. In chapter 02
 * there is no interrupt table yet, so the CPU cannot report the page
 * fault: it tries to deliver #PF, fails, tries a double fault, fails
 * again, and *triple faults*, which resets the machine. Under
 * `-no-reboot` QEMU then exits with status 0, and chapter 02's tests
 * expect exactly that. From chapter 03 on, the same scenarios end in
 * readable fault reports, and the tests expect those.
 */
static const uint64_t rodata_word = 42;     /* in .rodata */

SCENARIO(write_rodata, "write to read-only data: must fault")
{
	kprintf("about to write to rodata at %p\n", (void *)&rodata_word);
	*(volatile uint64_t *)&rodata_word = 1;
	kprintf("survived a write to rodata\n");
}

SCENARIO(read_null, "read virtual address 0: must fault")
{
	kprintf("about to read address 0\n");
	kprintf("read %lx\n", (unsigned long)*(volatile uint64_t *)0);
	kprintf("survived a null read\n");
}

SCENARIO(execute_data, "jump into a non-executable page: must fault")
{
	static volatile uint8_t ret_insn = 0xC3;   /* RET, in .data */

	kprintf("about to execute .data at %p\n", (void *)&ret_insn);
	((void (*)(void))(uintptr_t)&ret_insn)();
	kprintf("survived executing .data\n");
}

/* Cycles per map and per unmap of 4 KiB pages, measured with the
 * time-stamp counter. The figure is never a verdict; but a benchmark
 * whose calls fail measures nothing, so every call's result is checked,
 * and each unmap must give back the frame its map was given. */
#define BENCH_PAGES 10000

SCENARIO(bench_paging, "cycles per page_map and page_unmap (TSC)")
{
	uint64_t t0, t1, t2, pa[64];
	uint64_t base = TEST_VA;
	long map_errors = 0, unmap_errors = 0;

	for (int i = 0; i < 64; i++) {
		if (frame_alloc(1, &pa[i])) {
			ktest_report("bench_paging", "out of frames");
			return;
		}
	}
	t0 = rdtsc();
	for (uint64_t i = 0; i < BENCH_PAGES; i++)
		map_errors += page_map(kernel_pml4, base + i * PAGE_SIZE,
				       pa[i % 64], PTE_W | PTE_NX) != 0;
	t1 = rdtsc();
	for (uint64_t i = 0; i < BENCH_PAGES; i++) {
		uint64_t p = 0;

		unmap_errors += page_unmap(kernel_pml4, base + i * PAGE_SIZE,
					   &p) != 0 || p != pa[i % 64];
	}
	t2 = rdtsc();
	for (int i = 0; i < 64; i++)
		frame_free(pa[i], 1);
	kprintf("BENCH page_map %lu cycles/page, page_unmap %lu cycles/page "
		"(%d pages, TSC)\n", (unsigned long)((t1 - t0) / BENCH_PAGES),
		(unsigned long)((t2 - t1) / BENCH_PAGES), BENCH_PAGES);
	kprintf("BENCH page tables: %lu frames for the kernel half\n",
		(unsigned long)vm_table_frames());
	ktest_report("bench_paging", map_errors || unmap_errors ?
		     ktest_why("%ld maps and %ld unmaps failed", map_errors,
			       unmap_errors) : NULL);
}
