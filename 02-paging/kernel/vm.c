/*
 * vm.c: builds the kernel's page tables, switches to them, and prints
 * the resulting layout. From here on the kernel no longer depends on
 * the bootloader's temporary tables.
 */
#include "vm.h"
#include "frame.h"
#include "kprintf.h"
#include "memmap.h"
#include "panic.h"
#include "paging.h"
#include "pat.h"
#include "string.h"
#include "x86.h"

/**
 * ## The kernel's address space
 *
 * The bootloader's tables were a scaffold. They map the first 1 GiB
 * twice, at 0 and at KERNEL_WINDOW, with 2 MiB pages that are all
 * writable and all executable. Anything can overwrite the kernel's code,
 * and any data the kernel writes could be run as code. This chapter
 * replaces them with tables that say what each page is for:
 *
 * | what                | virtual address           | permissions       |
 * |---------------------|---------------------------|-------------------|
 * | kernel text         | KERNEL_WINDOW + 1 MiB     | read, execute     |
 * | kernel rodata       | after the text            | read              |
 * | kernel data and bss | after the rodata          | read, write       |
 * | boot stack          | KERNEL_WINDOW + 0x80000   | read, write       |
 * | its guard page      | the 4 KiB below the stack | not mapped        |
 * | VGA text buffer     | KERNEL_WINDOW + 0xB8000   | read, write, WC   |
 * | all other RAM       | KERNEL_WINDOW + physical  | read, write       |
 *
 * (WC: write-combining, see pat.c. For a text screen of 2-byte cells
 * it gains nothing, and scrolling reads are slower uncached; it is here
 * to show the PAT at work on a page you can see.)
 *
 * Nothing is both writable and executable ("W^X"). "Read, write" pages
 * also carry NX, no-execute. All kernel pages are *global* (G): their
 * TLB entries survive a CR3 switch, since every address space of later
 * chapters maps the kernel the same way. The low half is now empty: the
 * identity map is gone, so a null pointer dereference faults instead of
 * reading the interrupt table at physical 0.
 *
 * ### How the kernel reaches physical memory
 *
 * A kernel has to read and write physical frames: page tables, and
 * later the frames it hands to programs. Redox 0.3.5 uses a *recursive*
 * PML4 entry. Slot 511 points at the PML4 itself, so each table appears
 * somewhere in a 512 GiB virtual window. That costs one PML4 slot and no
 * memory, but it can only show the tables of the *active* address space.
 * Editing another address space needs Redox's temporary-page dance (map
 * the other PML4 into a spare slot of the active one, edit, unmap), and
 * ordinary frames still need temporary mappings.
 *
 * We use a *direct map* instead. All RAM is mapped at
 * KERNEL_WINDOW + physical, the window the bootloader started. Any
 * frame is then one addition away (`pt_phys_to_virt`). Its cost is page
 * tables for all RAM: with 2 MiB pages that is one 4 KiB table per
 * 1 GiB of RAM, 0.0004%. It also caps RAM at the 512 GiB one PML4 slot
 * can map, which we check. Linux made the same choice. One more wrinkle
 * makes the kernel image fit inside it: virtual = physical +
 * KERNEL_WINDOW is exactly where the linker placed the kernel. So the
 * image's pages are simply the direct map's pages for those frames, with
 * stricter permissions.
 */
uint64_t kernel_pml4;
static int kernel_pml4_active;      /* set once CR3 holds kernel_pml4 */

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __bss_end[];

#define VGA_PHYS 0xB8000
#define VGA_END 0xC0000
#define PTE_WC PTE_PAT           /* PAT index 4: write-combining */
#define WINDOW_LIMIT (512ull << 30)

static const struct boot_info *boot;

static int in(uint64_t x, uint64_t lo, uint64_t hi)
{
	return x >= lo && x < hi;
}

#define RAM_FLAGS (PTE_P | PTE_W | PTE_G | PTE_NX)

/* The flags one 4 KiB page of RAM (or VGA memory) gets in the direct
 * map, or 0 if it must stay unmapped. Every special row of the table
 * above is one line here; everything else is plain RAM. */
static uint64_t page_flags(uint64_t phys)
{
	if (in(phys, virt_to_phys(__text_start), virt_to_phys(__text_end)))
		return PTE_P | PTE_G;
	if (in(phys, virt_to_phys(__rodata_start), virt_to_phys(__rodata_end)))
		return PTE_P | PTE_G | PTE_NX;
	if (in(phys, virt_to_phys(__data_start), virt_to_phys(__bss_end)))
		return RAM_FLAGS;
	if (phys == boot->stack_base - FRAME_SIZE)       /* guard page */
		return 0;
	if (in(phys, VGA_PHYS, VGA_END))
		return RAM_FLAGS | PTE_WC;
	return RAM_FLAGS;
}

/* Does [lo, hi) touch a page whose flags differ from plain RAM? */
static int touches_special(uint64_t lo, uint64_t hi)
{
	uint64_t guard = boot->stack_base - FRAME_SIZE;

	return (lo < virt_to_phys(__bss_end) &&
		hi > virt_to_phys(__text_start)) ||
	       (lo <= guard && guard < hi) || (lo < VGA_END && hi > VGA_PHYS);
}

static void map_or_panic(int err, uint64_t va)
{
	if (err)
		panic("vm: cannot map %lx: %s", (unsigned long)va,
		      page_strerror(err));
}

/* Map physical [base, end) into the direct map: 2 MiB pages where a
 * whole aligned 2 MiB chunk is plain RAM, 4 KiB pages elsewhere. */
static void map_physical(uint64_t pml4, uint64_t base, uint64_t end)
{
	end = (end + FRAME_SIZE - 1) & ~(FRAME_SIZE - 1);
	for (uint64_t p = base & ~(FRAME_SIZE - 1); p < end;) {
		uint64_t va = p + KERNEL_WINDOW, f;

		if (p % PAGE_SIZE_2M == 0 && p + PAGE_SIZE_2M <= end &&
		    !touches_special(p, p + PAGE_SIZE_2M)) {
			map_or_panic(page_map_2m(pml4, va, p, RAM_FLAGS), va);
			p += PAGE_SIZE_2M;
			continue;
		}
		f = page_flags(p);
		if (f) {
			int err = page_map(pml4, va, p, f);

			/* Two ranges that are not page-aligned (ACPI ones, say)
			 * may share a page: the first one mapped it. */
			if (err != PAGE_ERR_EXISTS)
				map_or_panic(err, va);
		}
		p += FRAME_SIZE;
	}
}

/* RAM in the E820 sense: memory we may read and write, even if it is
 * taken (kernel, boot data) or belongs to ACPI. Reserved ranges and
 * holes hold devices or nothing, and stay unmapped until a driver asks. */
static int is_ram(uint32_t type)
{
	return type != E820_RESERVED && type != E820_UNUSABLE;
}

/**
 * ### Building and switching, step by step
 *
 * 1. Program the PAT (pat.c), so the write-combining type exists.
 * 2. Turn on the features the new entries rely on: EFER.NXE, without
 *    which bit 63 is a *reserved* bit and any entry setting it faults;
 *    CR4.PGE, so G means something; and CR0.WP, so that read-only pages
 *    are read-only for the kernel too (without it, ring 0 may write
 *    anywhere and W^X would be a fiction).
 * 3. Allocate an empty PML4 and map, through the mapper, every page of
 *    the table at the top of this file.
 * 4. Load CR3. The next instruction is fetched through the new tables.
 *    That works because the code runs at the same virtual address in
 *    both sets of tables.
 */
void vm_init(const struct boot_info *bi)
{
	boot = bi;
	pat_init();                                          /* 1. */
	if (!(cpuid(0x80000001, 0).edx & (1u << 20)))        /* NX */
		panic("vm: this CPU has no NX bit (CPUID 80000001h:EDX.20)");
	wrmsr(MSR_IA32_EFER, rdmsr(MSR_IA32_EFER) | EFER_NXE);   /* 2. */
	write_cr4(read_cr4() | CR4_PGE);
	write_cr0(read_cr0() | CR0_WP);

	if (frame_alloc(1, &kernel_pml4) != 0)                   /* 3. */
		panic("vm: no frame for the PML4");
	memset(pt_phys_to_virt(kernel_pml4), 0, FRAME_SIZE);
	for (int i = 0; i < memmap_count; i++) {
		const struct mem_range *r = &memmap[i];

		if (!is_ram(r->type))
			continue;
		if (r->end > WINDOW_LIMIT)
			panic("vm: RAM above 512 GiB does not fit the "
			      "direct map");
		map_physical(kernel_pml4, r->base, r->end);
	}
	map_physical(kernel_pml4, VGA_PHYS, VGA_END);
	write_cr3(kernel_pml4);                                  /* 4. */
	kernel_pml4_active = 1;
}

/* The direct map, during boot and after it. Before the switch only the
 * bootloader's window exists, and it maps the first BOOT_MAPPED_BYTES.
 * The frame allocator must give vm_init frames from there (chapter 02's
 * bump allocator does, lowest first; later chapters hand the allocator
 * only low memory until the switch), and we check rather than trust. */
void *pt_phys_to_virt(uint64_t phys)
{
	if (!kernel_pml4_active && phys >= BOOT_MAPPED_BYTES)
		panic("vm: frame %lx is beyond the boot window",
		      (unsigned long)phys);
	return phys_to_virt(phys);
}

void tlb_flush_page(uint64_t va)
{
	invlpg(va);
}

/**
 * ## The layout, read back from the tables
 *
 * `vm_print_layout` is the kernel's own `/proc/self/maps`. It does not
 * print what we *meant* to map: it walks the live page tables of the
 * kernel half (PML4 entries 256-511) and prints every run of pages that
 * are contiguous in virtual and physical memory with the same flags.
 * If a rule in `page_flags` were wrong, this is where you would see it.
 * The walk also counts the frames the tables themselves occupy.
 */
struct run {
	uint64_t va, end, pa, flags;
};

static struct run cur;
static uint64_t table_frames;

static const char *region_name(uint64_t pa)
{
	if (in(pa, virt_to_phys(__text_start), virt_to_phys(__text_end)))
		return "kernel text";
	if (in(pa, virt_to_phys(__rodata_start), virt_to_phys(__rodata_end)))
		return "kernel rodata";
	if (in(pa, virt_to_phys(__data_start), virt_to_phys(__bss_end)))
		return "kernel data, bss";
	if (in(pa, boot->stack_base, boot->stack_base + boot->stack_size))
		return "boot stack (guard page below)";
	if (in(pa, VGA_PHYS, VGA_END))
		return "VGA text buffer";
	return "direct map of RAM";
}

static void run_print(const struct run *r)
{
	if (r->end == r->va)
		return;
	kprintf("  %016lX-%016lX %9lu KiB  %c%c%c %s %s\n",
		(unsigned long)r->va, (unsigned long)r->end,
		(unsigned long)((r->end - r->va) >> 10), 'r',
		r->flags & PTE_W ? 'w' : '-', r->flags & PTE_NX ? '-' : 'x',
		r->flags & PTE_G ? "G" : "-",
		region_name(r->pa));
}

/* Extend the current run with one leaf mapping, or print it and start
 * a new one. Accessed and dirty bits are ignored: the CPU sets them. A
 * run also ends where the region's name changes (data ends, RAM begins). */
static void run_add(uint64_t va, uint64_t pa, uint64_t size, uint64_t flags)
{
	flags &= ~(PTE_A | PTE_D | PTE_PS | PTE_PAT_LARGE);
	if (va == cur.end && pa == cur.pa + (cur.end - cur.va) &&
	    flags == cur.flags && region_name(pa) == region_name(cur.pa)) {
		cur.end += size;
		return;
	}
	run_print(&cur);
	cur = (struct run){ va, va + size, pa, flags };
}

/* Visit every leaf under the table at `table` (level 4 = PML4). */
static void walk(uint64_t table, int level, uint64_t va_base)
{
	const uint64_t *e = pt_phys_to_virt(table);
	uint64_t span = 1ull << (12 + 9 * (level - 1));
	int first = level == 4 ? 256 : 0;

	table_frames++;
	for (int i = first; i < 512; i++) {
		uint64_t va = va_base + i * span;

		if (level == 4)
			va |= 0xFFFF000000000000ull;   /* sign-extend */
		if (!(e[i] & PTE_P))
			continue;
		if (level == 1 || (level <= 3 && (e[i] & PTE_PS)))
			run_add(va, e[i] & PTE_ADDR & ~(span - 1), span,
				e[i] & ~PTE_ADDR);
		else
			walk(e[i] & PTE_ADDR, level - 1, va);
	}
}

void vm_print_layout(void)
{
	kprintf("Kernel address space, read from the live page tables:\n");
	cur = (struct run){ 0, 0, 0, 0 };
	table_frames = 0;
	walk(kernel_pml4, 4, 0);
	run_print(&cur);
	kprintf("Page tables: %lu frames (%lu KiB)\n",
		(unsigned long)table_frames, (unsigned long)table_frames * 4);
}

uint64_t vm_table_frames(void)
{
	return table_frames;
}
