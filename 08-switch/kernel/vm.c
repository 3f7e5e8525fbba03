/*
 * vm.c: builds the kernel's page tables, switches to them, and prints
 * the resulting layout. From here on the kernel no longer depends on
 * the bootloader's temporary tables.
 */
#include "vm.h"
#include "directmap.h"
#include "frame.h"
#include "fwmap.h"
#include "kprintf.h"
#include "memmap.h"
#include "panic.h"
#include "paging.h"
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
 * | kernel heap (05)    | HEAP_BASE, pages of heap.c | read, write      |
 * | firmware window (06)| FW_AREA, see fwmap.c      | tables r, devices rw UC |
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
#define RAM_FLAGS (PTE_P | PTE_W | PTE_G | PTE_NX)

/**
 * ### One table of regions
 *
 * Every row of the table above except "all other RAM" is one entry of
 * `regions`, by its virtual address range. The same entries give the
 * direct map its special pages (their flags, or 0 for a page that must
 * stay unmapped), give the layout printout its names, and tell an
 * exception report (chapter 03) what a faulting address points at.
 * Areas outside the direct map add themselves with `vm_region_add()`,
 * as the kernel stacks of chapter 03 do; an address in no region and
 * inside the window is "direct map of RAM".
 */
struct region {
	const char *name;
	uint64_t va, end;        /* virtual [va, end) */
	uint64_t flags;          /* in the direct map; 0: not mapped */
};

#define MAX_REGIONS 12
static struct region regions[MAX_REGIONS];
static int n_regions;

void vm_region_add(const char *name, uint64_t va, uint64_t end,
		   uint64_t flags)
{
	if (n_regions == MAX_REGIONS)
		panic("vm: more than %d regions", MAX_REGIONS);
	regions[n_regions++] = (struct region){ name, va, end, flags };
}

static void regions_init(const struct boot_info *bi)
{
	uint64_t stack = (uint64_t)phys_to_virt(bi->stack_base);

	vm_region_add("kernel text", (uint64_t)__text_start,
		      (uint64_t)__text_end, PTE_P | PTE_G);
	vm_region_add("kernel rodata", (uint64_t)__rodata_start,
		      (uint64_t)__rodata_end, PTE_P | PTE_G | PTE_NX);
	vm_region_add("kernel data, bss", (uint64_t)__data_start,
		      (uint64_t)__bss_end, RAM_FLAGS);
	vm_region_add("boot stack's guard page", stack - FRAME_SIZE, stack, 0);
	vm_region_add("boot stack (guard page below)", stack,
		      stack + bi->stack_size, RAM_FLAGS);
	vm_region_add("VGA text buffer", KERNEL_WINDOW + VGA_PHYS,
		      KERNEL_WINDOW + VGA_END, RAM_FLAGS | PTE_WC);
}

/* The name of the region that holds va, or NULL outside all of them. */
const char *vm_region_name(uint64_t va)
{
	for (int i = 0; i < n_regions; i++)
		if (va >= regions[i].va && va < regions[i].end)
			return regions[i].name;
	if (va >= KERNEL_WINDOW && va - KERNEL_WINDOW < WINDOW_LIMIT)
		return "direct map of RAM";
	return NULL;
}

/* The RAM ranges of the memory map, and the VGA buffer, coalesced, and
 * the regions inside the window as physical areas, for directmap.c. */
static struct mem_range ram[E820_MAX_OUT + 1];
static struct dm_area areas[MAX_REGIONS];

static void direct_map_build(uint64_t pml4)
{
	int n = 0, n_areas = 0, err;
	uint64_t where;

	for (int i = 0; i < memmap_count; i++) {
		if (!e820_is_ram(memmap[i].type))
			continue;
		if (memmap[i].end > WINDOW_LIMIT)
			panic("vm: RAM above 512 GiB does not fit the "
			      "direct map");
		ram[n++] = memmap[i];
	}
	ram[n++] = (struct mem_range){ VGA_PHYS, VGA_END, E820_RESERVED };
	n = directmap_coalesce(ram, n);
	for (int i = 0; i < n_regions; i++)
		if (regions[i].va >= KERNEL_WINDOW &&
		    regions[i].va - KERNEL_WINDOW < WINDOW_LIMIT)
			areas[n_areas++] = (struct dm_area){
				regions[i].va - KERNEL_WINDOW,
				regions[i].end - KERNEL_WINDOW,
				regions[i].flags };
	err = directmap_map(pml4, KERNEL_WINDOW, ram, n, areas, n_areas,
			    RAM_FLAGS, &where);
	if (err)
		panic("vm: cannot map %lx: %s", (unsigned long)where,
		      page_strerror(err));
}

/**
 * ### Building and switching, step by step
 *
 * By now `cpu_init_features()` (cpu.c) has programmed the PAT, so the
 * write-combining type exists, and switched on what the new entries
 * rely on: NX, global pages, and write protection for ring 0.
 *
 * 1. Allocate an empty PML4, and map, through the mapper, every page of
 *    the table at the top of this file: the direct map of all RAM
 *    (directmap.c), which includes the kernel image's pages with their
 *    own permissions.
 * 2. Load CR3. The next instruction is fetched through the new tables.
 *    That works because the code runs at the same virtual address in
 *    both sets of tables.
 */
void vm_init(const struct boot_info *bi)
{
	regions_init(bi);
	if (frame_alloc(1, &kernel_pml4) != 0)                   /* 1. */
		panic("vm: no frame for the PML4");
	memset(pt_phys_to_virt(kernel_pml4), 0, FRAME_SIZE);
	direct_map_build(kernel_pml4);
	write_cr3(kernel_pml4);                                  /* 2. */
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
 * If an entry of `regions` were wrong, this is where you would see it.
 * The walk also counts the frames the tables themselves occupy.
 */
struct run {
	uint64_t va, end, pa, flags;
};

static struct run cur;
static uint64_t table_frames;

/* The region a layout line belongs to: chapter 06's firmware windows
 * (fwmap.c) have names of their own, the rest are in `regions`. */
static const char *layout_name(uint64_t va)
{
	const char *name = fw_region_name(va);

	return name ? name : vm_region_name(va);
}

static const char *run_name(const struct run *r)
{
	const char *name = layout_name(r->va);

	return name ? name : "?";
}

/* A region of many runs (the kernel stacks: one stack and three IST
 * stacks per CPU, each with its guard page, are 1,275 runs at 255
 * CPUs) shows its first LAYOUT_RUNS_SHOWN and then one line for the
 * rest: the serial port of a 255-CPU machine under QEMU prints about
 * 30 lines a second. */
#define LAYOUT_RUNS_SHOWN 10

static const char *shown_name;     /* the region of the runs printed last */
static unsigned shown_runs;        /* how many of its runs were printed */
static unsigned hidden_runs;       /* and how many were not */
static uint64_t hidden_bytes;

static void hidden_print(void)
{
	if (hidden_runs)
		kprintf("  ... %u more runs of %s, %lu KiB in all\n",
			hidden_runs, shown_name,
			(unsigned long)(hidden_bytes >> 10));
	hidden_runs = 0;
	hidden_bytes = 0;
}

static void run_print(const struct run *r)
{
	if (r->end == r->va)
		return;
	if (run_name(r) != shown_name) {
		hidden_print();
		shown_name = run_name(r);
		shown_runs = 0;
	}
	if (shown_runs == LAYOUT_RUNS_SHOWN) {
		hidden_runs++;
		hidden_bytes += r->end - r->va;
		return;
	}
	shown_runs++;
	kprintf("  %016lX-%016lX %9lu KiB  %c%c%c %s %s\n",
		(unsigned long)r->va, (unsigned long)r->end,
		(unsigned long)((r->end - r->va) >> 10), 'r',
		r->flags & PTE_W ? 'w' : '-', r->flags & PTE_NX ? '-' : 'x',
		r->flags & PTE_G ? "G" : "-", run_name(r));
}

/* Extend the current run with one leaf mapping, or print it and start
 * a new one. Accessed and dirty bits are ignored: the CPU sets them. A
 * run also ends where the region's name changes (data ends, RAM begins).
 * Outside the direct map, pages take frames from anywhere (the heap's
 * do), so there a run need not be contiguous in physical memory. */
static void run_add(uint64_t va, uint64_t pa, uint64_t size, uint64_t flags)
{
	bool direct = va >= KERNEL_WINDOW && va - KERNEL_WINDOW < WINDOW_LIMIT;

	flags &= ~(PTE_A | PTE_D | PTE_PS | PTE_PAT_LARGE);
	if (va == cur.end && (!direct || pa == cur.pa + (cur.end - cur.va)) &&
	    flags == cur.flags &&
	    layout_name(va) == layout_name(cur.va)) {
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
	shown_name = NULL;
	walk(kernel_pml4, 4, 0);
	run_print(&cur);
	hidden_print();
	kprintf("Page tables: %lu frames (%lu KiB)\n",
		(unsigned long)table_frames, (unsigned long)table_frames * 4);
}

uint64_t vm_table_frames(void)
{
	return table_frames;
}
