/*
 * paging.c: the page-table mapper. Maps, unmaps, protects, translates
 * and walks the 4-level page tables of one address space.
 *
 * Pure logic: it reaches memory only through pt_phys_to_virt(), gets
 * table pages from frame_alloc(), tells the CPUs about changes with
 * tlb_flush_page() and tlb_shootdown_page(), and takes its lock with
 * spin_lock() (paging.h). The host unit tests
 * (tests/host/test_paging.c) compile this very file.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "paging.h"
#include "spinlock.h"
/* frame_alloc() and frame_free(). The host test declares the two
 * itself, before including this file, so it needs no frame.h. */
#ifndef HOST_TEST
#include "frame.h"
#endif

/**
 * # The mapper
 *
 * Chapter 01 ran on three pages of tables that the bootloader wrote by
 * hand. From now on the kernel builds its own tables, and later
 * chapters build one set per process, so the kernel needs functions
 * that say "make virtual page V lead to physical frame F with these
 * rights", "undo that", "where does V lead?". This file is those
 * functions. They are the only code that writes page-table entries.
 *
 * Redox 0.3.5 has the same operations (`map_to`, `unmap`, `remap`,
 * `translate` in its `mapper.rs`). Its version has weaknesses that
 * this file avoids, each explained where our code differs:
 *
 * | Redox 0.3.5 | here |
 * |---|---|
 * | table entries always user + writable | only the rights needed below |
 * | `translate` gives up at a large page | large pages are translated |
 * | a used-entry count hidden in entry 0 | the entries themselves are read |
 * | frees emptied tables that are shared | kernel-half PDPTs are kept |
 * | panics on a caller's mistake | returns an error |
 * | links a new table, then zeroes it | zeroes it, then links it |
 *
 * The tables are reached through `pt_phys_to_virt()`, never through a
 * fixed address. Redox edits tables through a *recursive* PML4 entry
 * (slot 511 points at the PML4 itself, so every table appears somewhere
 * in virtual memory) and needs a "temporary page" trick to edit an
 * address space that is not the current one. Our kernel maps all of
 * physical memory at KERNEL_WINDOW, so any table of any address space
 * is just a pointer away.
 */

/* Levels, numbered as the walk meets them (the index into
 * struct page_walk): 0 is the PML4, 3 the PT. */
#define L_PML4 0
#define L_PDPT 1
#define L_PD   2
#define L_PT   3

/* The first PML4 slot of the kernel half (va bit 47 set). */
#define PML4_KERNEL_FIRST 256

/* The 9 bits of va that index the table at this level. */
static unsigned index_at(uint64_t va, int level)
{
	return (va >> (39 - 9 * level)) & (PT_ENTRIES - 1);
}

/* How much an entry at this level maps: 512 GiB, 1 GiB, 2 MiB, 4 KiB. */
static uint64_t level_size(int level)
{
	return 1ull << (39 - 9 * level);
}

/* The frame-address bits of a page entry at this level. */
static uint64_t leaf_addr_mask(int level)
{
	if (level == L_PDPT)
		return PTE_ADDR_1G;
	if (level == L_PD)
		return PTE_ADDR_2M;
	return PTE_ADDR;
}

static uint64_t *table_ptr(uint64_t phys)
{
	return pt_phys_to_virt(phys);
}

/**
 * ## Canonical addresses
 *
 * A 64-bit register could name 16 EiB of memory, but 4-level paging
 * translates only 48 bits: 256 TiB. The CPU insists that bits 63..48
 * be copies of bit 47, and raises a general-protection fault for any
 * other address (a stack-segment fault, #SS, if the access goes through
 * RSP or RBP). Such *canonical* addresses form two halves, with a
 * huge hole between them:
 *
 *     0x0000000000000000 - 0x00007FFFFFFFFFFF   lower half (users)
 *     0xFFFF800000000000 - 0xFFFFFFFFFFFFFFFF   upper half (kernel)
 *
 * Every function here refuses a non-canonical va with
 * PAGE_ERR_NONCANONICAL. The indices alone cannot catch the mistake:
 * 0x0000800000000000 and 0xFFFF800000000000 select the very same PML4
 * entry, 256, so a mapper that did not check would happily map the
 * first at the second.
 */
static bool is_canonical(uint64_t va)
{
	uint64_t top = va >> 47;  /* bits 63..47: all 0 or all 1 */

	return top == 0 || top == 0x1FFFF;
}

/**
 * ## Walking the tables, and large pages
 *
 * To translate va the CPU reads CR3, takes the PML4 entry that bits
 * 47..39 of va select (`index_at(va, 0)`), follows its address to a
 * PDPT, takes the entry that bits 38..30 select, and so on down to a
 * PTE, whose address is the frame; the low 12 bits of va are the
 * offset inside it. The walk ends
 * early at an entry without P (page fault), or at a *large page*: a
 * PDPTE with PS maps a whole 1 GiB page and a PDE with PS a 2 MiB page.
 * Then the frame address comes from that entry, and the offset is the
 * low 30 or 21 bits of va. (Bit 7 of a PML4E has no such meaning: it
 * must be 0, and this mapper never sets it.)
 *
 * Large pages matter even though this mapper makes 4 KiB ones first of
 * all: the bootloader's tables are made of 2 MiB pages, and so are
 * large windows onto physical memory. Redox's `translate` stops and
 * reports "not mapped" when it meets one, and its `unmap` panics. Every
 * function in this file stops at a PS entry exactly as the CPU does, so
 * it can never misread a page of data as a table.
 *
 * `path_follow()` is that walk, done once for everyone. It records
 * where each entry is, so the callers can change entries afterwards
 * without walking again.
 */
struct path {
	int level;           /* the deepest level read */
	uint64_t *slot[4];   /* where the entry at each level is */
	uint64_t table[4];   /* physical address of the table holding it */
};

/* Does this present entry map a page itself (rather than a table)? */
static bool is_leaf(uint64_t e, int level)
{
	if (level == L_PT)
		return true;
	return (level == L_PDPT || level == L_PD) && (e & PTE_PS);
}

/* Follow va from pml4 down, at most to level last. Stops at the first
 * entry that is not present or is a page; p->level says where.
 * Precondition: va is canonical. */
static void path_follow(uint64_t pml4, uint64_t va, int last,
			struct path *p)
{
	uint64_t table = pml4;

	for (int level = L_PML4;; level++) {
		uint64_t e;

		p->level = level;
		p->table[level] = table;
		p->slot[level] = &table_ptr(table)[index_at(va, level)];
		e = *p->slot[level];
		if (level == last || !(e & PTE_P) || is_leaf(e, level))
			return;
		table = e & PTE_ADDR;
	}
}

/* Find the page that va lies in. On success p->level is its level and
 * *p->slot[p->level] its entry. Precondition: va is canonical. */
static int find_page(uint64_t pml4, uint64_t va, struct path *p)
{
	path_follow(pml4, va, L_PT, p);
	if (!(*p->slot[p->level] & PTE_P))
		return PAGE_ERR_NOT_MAPPED;
	return 0;
}

/**
 * ## Checking the arguments
 *
 * Every mistake a caller can make is answered with an error code, never
 * a panic: unmapping a page that is not there is an ordinary event once
 * user programs can ask for it. (Redox's mapper panics when the page is
 * already mapped, when a level is missing and when a large page is in
 * the way.) The checks, in order:
 *
 * 1. va is canonical (PAGE_ERR_NONCANONICAL).
 * 2. va and pa are multiples of the page size (PAGE_ERR_ALIGN): an
 *    entry has no room for the low bits. A pa above bit 51 gets the
 *    same answer, since it cannot be written into an entry either.
 * 3. The flags hold no address bits, and no PS (PAGE_ERR_FLAGS). Flags
 *    are written next to the address in the same 64 bits, so a stray
 *    address bit would silently move the mapping to another frame; PS
 *    is the mapper's business, as it changes what the entry *is*. In a
 *    4 KiB entry bit 7 is PAT and allowed; in a large-page entry PAT is
 *    bit 12 (PTE_PAT_LARGE), which is allowed there, and bit 7 is PS.
 *
 * The bits the CPU ignores (9-11 and 52-62; bits 59-62 only while
 * protection keys are off, as they are here) are let through: later
 * chapters may keep their own notes in them.
 */
static bool flags_ok(uint64_t flags, int level)
{
	uint64_t bad = PTE_ADDR;

	if (level != L_PT)
		bad = (PTE_ADDR & ~PTE_PAT_LARGE) | PTE_PS;
	return (flags & bad) == 0;
}

/* Checks 1-3 for mapping va to pa with a page entry at this level. */
static int check_map_args(uint64_t va, uint64_t pa, uint64_t flags,
			  int level)
{
	if (!is_canonical(va))
		return PAGE_ERR_NONCANONICAL;
	if (va & (level_size(level) - 1))
		return PAGE_ERR_ALIGN;
	if (pa & ~leaf_addr_mask(level))
		return PAGE_ERR_ALIGN;
	if (!flags_ok(flags, level))
		return PAGE_ERR_FLAGS;
	return 0;
}

/**
 * ## The rights of the tables above a page
 *
 * The CPU grants an access only if *every* entry of the walk grants
 * it: a user-mode read needs U in the PML4E, the PDPTE, the PDE and
 * the PTE; a write (by user mode, or by the kernel once CR0.WP is set)
 * needs W in all four; an instruction fetch
 * is refused if NX is set in any of them. So the three *table entries*
 * above a page act as a ceiling on its rights.
 *
 * Redox makes every table entry P | W | U and lets the page's own entry
 * decide. That works until something is wrong with a page entry: then
 * nothing else stands between a user program and the kernel's tables.
 * We give a new table entry P and W, and U only when the page being
 * mapped has U. Kernel tables therefore never carry U, and a user
 * program cannot reach kernel memory even through a page entry that
 * wrongly has U.
 *
 * Why treat U and W differently? User and kernel pages never share a
 * table here: the two halves of the address space hang from different
 * PML4 entries. So keeping U off kernel tables costs nothing and is a
 * second line of defence. Read-only and writable pages, in contrast,
 * sit side by side everywhere (code next to data), so nearly every
 * table would need W anyway; W is on every table entry we make, and the
 * page entry alone decides about writes. NX is never set on a table
 * entry: it would forbid execution in the whole region below (512 GiB
 * under one PML4E), including code mapped there later. NX belongs on
 * the pages.
 *
 * When a later mapping needs more than an existing table entry allows
 * (the first user page under a table made for kernel pages, or a table
 * entry written by someone else without W or with NX), that entry is
 * *upgraded*: U or W is added, NX cleared. Rights are never taken away
 * from a table entry: other pages below it may need them.
 */
static uint64_t table_entry_new(uint64_t table, uint64_t page_flags)
{
	return table | PTE_P | PTE_W | (page_flags & PTE_U);
}

static uint64_t table_entry_upgrade(uint64_t e, uint64_t page_flags)
{
	e |= page_flags & (PTE_U | PTE_W);
	if (!(page_flags & PTE_NX))
		e &= ~PTE_NX;
	return e;
}

/* Upgrade the table entries at levels 0..below-1 of p. */
static void upgrade_path(struct path *p, int below, uint64_t page_flags)
{
	for (int level = L_PML4; level < below; level++)
		*p->slot[level] = table_entry_upgrade(*p->slot[level],
						      page_flags);
}

/**
 * ## Telling the CPU: the TLB
 *
 * Reading four tables would turn every memory access into five, so
 * the CPU keeps recent translations in the *TLB*
 * (translation lookaside buffer), and recent table entries in
 * *paging-structure caches*. Neither notices when an entry changes in
 * memory. The INVLPG instruction drops the TLB entry for one page and,
 * as the SDM guarantees, everything in the paging-structure caches; a
 * CR3 reload drops all non-global TLB entries.
 *
 * Our rule is simple: **every call that changes an entry ends with one
 * flush of va**, after its last write, whether it mapped, unmapped,
 * upgraded a table entry or changed flags: `tlb_flush_page(va)` after
 * a map, `tlb_shootdown_page(va)` (every CPU's, below) after an unmap
 * or a change of flags. One flush per call
 * is enough because every entry a call changes lies on va's own walk.
 * After a plain map the flush is not needed: the CPU never caches an
 * entry that is not present. It costs one INVLPG, a few hundred cycles
 * at most, and a rule without exceptions cannot be forgotten in the one
 * place where it mattered. A call that fails changes nothing and
 * flushes nothing.
 *
 * Redox reaches the same goal with *flush tokens*: every change returns
 * a value that must be flushed or explicitly ignored, or the kernel
 * panics. With one CPU, one rule inside the mapper does the job.
 *
 * ### Every CPU has a TLB
 *
 * With several CPUs, each has its own TLB, and INVLPG clears only the
 * TLB of the CPU that executes it. After an unmap, another CPU that
 * used the page a moment ago may still hold the old translation, and
 * go on reading and writing the frame through it, although the frame
 * has gone back to the allocator and belongs to someone else by now.
 * So an unmap, and a change of flags (which may take a right away),
 * must make *every* CPU forget the page, and wait until all of them
 * have, before the frame or any table it unlinked can be used again.
 * That is a *TLB shootdown*: `tlb_shootdown_page(va)`, which the
 * kernel implements with interrupts between CPUs (tlb.c), and which
 * returns only when every CPU has flushed. Redox 0.3.5 never does one;
 * its other CPUs keep whatever they cached.
 *
 * A map needs no shootdown. Another CPU cannot have cached a page that
 * was not there (the CPU never caches a not-present entry), and a map
 * only ever adds rights to the table entries above the page; in the
 * kernel's tables it never changes them at all, because they are made
 * with every right a page below may need (below). The self-test
 * `unmapped_page_faults_on_other_cpu` shows the shootdown at work.
 */

/**
 * ## New tables, and running out of frames
 *
 * A new table comes from the frame allocator, which does not clear
 * frames. A table full of leftovers would be read by the CPU as 512
 * random entries, so a table is zeroed *before* the entry that points
 * at it is written. (Redox links the table first and zeroes it after,
 * because it reaches tables only through the tables themselves. But
 * the CPU may read page tables at any moment, speculatively, to fill
 * its caches, so even on one CPU garbage could be cached in between.)
 *
 * Mapping one 4 KiB page into an empty region needs three new tables
 * (PDPT, PD, PT). If the allocator runs dry after the first one, what
 * then? We first walk the tables *without changing anything* to count
 * the tables that are missing, then take all the frames, and only when
 * every allocation succeeded start writing. If one fails, the frames
 * already taken go straight back and the call returns PAGE_ERR_NOMEM:
 * the tables are exactly as before, byte for byte, nothing leaked, and
 * the same call succeeds later when memory is available again. (Leaving
 * an empty table linked in would also be correct, since an empty table
 * is legal, but it would hold on to frames nobody asked for.)
 */
#define MAX_NEW_TABLES 3  /* PDPT, PD and PT */

/* Take n frames for tables, all or none. */
static int tables_alloc(int n, uint64_t *fresh)
{
	for (int i = 0; i < n; i++) {
		if (frame_alloc(1, &fresh[i]) != 0) {
			while (i-- > 0)
				frame_free(fresh[i], 1);
			return PAGE_ERR_NOMEM;
		}
	}
	return 0;
}

static void table_zero(uint64_t phys)
{
	uint64_t *t = table_ptr(phys);

	for (int i = 0; i < PT_ENTRIES; i++)
		t[i] = 0;
}

/* Link the fresh tables below p->slot[p->level], one per level, down
 * to the entry at level `leaf`; p->slot[leaf] then points at it. */
static void tables_link(struct path *p, uint64_t va, int leaf,
			const uint64_t *fresh, uint64_t page_flags)
{
	for (int level = p->level; level < leaf; level++) {
		uint64_t t = *fresh++;

		table_zero(t);
		*p->slot[level] = table_entry_new(t, page_flags);
		p->table[level + 1] = t;
		p->slot[level + 1] = &table_ptr(t)[index_at(va, level + 1)];
	}
	p->level = leaf;
}

/* Is the slot where a page entry at level `leaf` must go free?
 * p is the walk, stopped by path_follow(..., leaf, p). Returns the
 * number of tables to make (>= 0), or an error. */
static int tables_missing(const struct path *p, int leaf)
{
	uint64_t e = *p->slot[p->level];

	if (!(e & PTE_P))
		return leaf - p->level;
	if (p->level < leaf)             /* a large page above */
		return PAGE_ERR_HUGE;
	if (leaf != L_PT && !(e & PTE_PS))
		return PAGE_ERR_HUGE;    /* a table where the page goes */
	return PAGE_ERR_EXISTS;
}

/**
 * ## One lock for the tables
 *
 * Two CPUs that change the same tables at once can lose a change. Both
 * find the same PD entry empty, both link a fresh PT into it, and the
 * second write wins: the first CPU's page is gone, and its table frame
 * leaks. Or one CPU frees a table that it found empty while another
 * is adding an entry to it. So every operation below runs whole under
 * the page-table lock, from its first look at an entry to its last
 * write (and the shootdown after an unmap): to every other CPU, a map,
 * an unmap or a change of flags happens in one step.
 *
 * One lock serves all tables: this kernel has one address space, the
 * kernel's (a later chapter with one per process can give each its
 * own). In the lock order it comes after the heap and before the frame
 * allocator: the mapper calls frame_alloc() and frame_free() with it
 * held, and never calls the heap.
 *
 * `page_walk()` alone takes no lock. It serves the exception report,
 * and a fault inside the mapper happens with the lock held by the very
 * CPU that reports it; a snapshot that may be half a change old is
 * what a report can have.
 */
static struct spinlock pt_lock = SPINLOCK_INIT("page tables");

/* Map a page at level `leaf` (L_PT: 4 KiB, L_PD: 2 MiB). Holds the
 * page-table lock. */
static int map_page(uint64_t pml4, uint64_t va, uint64_t pa,
		    uint64_t flags, int leaf)
{
	uint64_t fresh[MAX_NEW_TABLES];
	struct path p;
	int first_new, missing, err;

	err = check_map_args(va, pa, flags, leaf);
	if (err)
		return err;
	path_follow(pml4, va, leaf, &p);  /* 1. look, change nothing */
	missing = tables_missing(&p, leaf);
	if (missing < 0)
		return missing;
	err = tables_alloc(missing, fresh);  /* 2. all frames, or none */
	if (err)
		return err;
	first_new = p.level;                 /* 3. write */
	upgrade_path(&p, first_new, flags);
	tables_link(&p, va, leaf, fresh, flags);
	*p.slot[leaf] = pa | flags | PTE_P | (leaf != L_PT ? PTE_PS : 0);
	tlb_flush_page(va);
	return 0;
}

int page_map(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags)
{
	int err;

	spin_lock(&pt_lock);
	err = map_page(pml4, va, pa, flags, L_PT);
	spin_unlock(&pt_lock);
	return err;
}

int page_map_2m(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags)
{
	int err;

	spin_lock(&pt_lock);
	err = map_page(pml4, va, pa, flags, L_PD);
	spin_unlock(&pt_lock);
	return err;
}

/**
 * ## Unmapping, and when a table is empty
 *
 * `page_unmap()` clears the page's entry. If that leaves the table
 * holding it empty, the table is unlinked from its parent and its frame
 * freed, and the same question is asked one level up: a process that
 * maps and unmaps memory all day must not collect empty tables.
 *
 * How do we know a table is empty? Redox keeps a count of used entries
 * in the unused bits 52-61 of each table's entry 0 and adds or
 * subtracts one as its mapper writes entries. But not every entry is
 * written by the mapper: the bootloader builds tables by hand, the
 * recursive entry is written directly, and a new address space gets
 * copies of the kernel's PML4 entries. For those tables the count is
 * wrong, it can drop below zero, and in a release build the wrapped
 * value spills into bits 62 and 63 of entry 0; bit 63 is NX. A second
 * copy of the truth goes stale; so we keep none. A table is empty when
 * all 512 of its entries are zero, and we look. That costs up to 512
 * loads per table checked, at most three tables per unmap, and only on
 * unmap. The look starts next to the entry just cleared and moves
 * outward, because neighbours are the likeliest to be in use: a range
 * unmapped page by page, upward or downward, then costs one or two
 * loads per page instead of a scan from entry 0 over all the entries
 * already cleared. Entries that are not present but not zero either
 * (later chapters may keep notes there) count as used.
 *
 * Two tables are never freed, even when empty:
 *
 * - the PML4 itself: it *is* the address space, and its owner frees it;
 * - a PDPT hanging from the kernel half (PML4 slot 256 or above). From
 *   chapter 07 on, every address space gets copies of the kernel's
 *   PML4 entries, all pointing at the same PDPTs, so that a kernel
 *   mapping made in one is seen in all. Freeing such a PDPT would leave
 *   every other address space pointing at a frame that has become
 *   something else. Redox frees them, under its shared slots 509 and
 *   510.
 *
 * Order matters: first clear the entries, then flush, on every CPU,
 * and only then free the frames. Until the flush, a CPU's
 * paging-structure caches may still point at a table we unlinked, and
 * a frame must not be reused while some CPU may read it as a table.
 */

/* Every one of the 512 entries zero? The search starts at entry
 * `near` and moves outward both ways (near+1, near-1, near+2, ...,
 * near+256), wrapping around the table, so every entry is looked at
 * exactly once and a used neighbour is found at once. */
static bool table_is_empty(uint64_t phys, unsigned near)
{
	const uint64_t *t = table_ptr(phys);

	if (t[near] != 0)
		return false;
	for (unsigned k = 1; k < PT_ENTRIES; k++) {
		unsigned step = (k + 1) / 2;
		unsigned i = k % 2 ? near + step : near - step;

		if (t[i % PT_ENTRIES] != 0)
			return false;
	}
	return true;
}

/* May the table at this level of va's walk be freed when empty? */
static bool table_may_free(uint64_t va, int level)
{
	if (level == L_PML4)
		return false;
	if (level == L_PDPT && index_at(va, L_PML4) >= PML4_KERNEL_FIRST)
		return false;
	return true;
}

/* The walk to the mapping whose first byte is va, for unmap and
 * protect: va must be canonical, mapped, and the start of its page,
 * whatever that page's size. */
static int find_page_start(uint64_t pml4, uint64_t va, struct path *p)
{
	int err;

	if (!is_canonical(va))
		return PAGE_ERR_NONCANONICAL;
	if (va & (PAGE_SIZE - 1))
		return PAGE_ERR_ALIGN;
	err = find_page(pml4, va, p);
	if (err)
		return err;
	if (va & (level_size(p->level) - 1))
		return PAGE_ERR_ALIGN;  /* inside a large page */
	return 0;
}

/* After the entry at p->level was cleared: unlink the tables that are
 * now empty, bottom-up. Their frames go to freed[]; returns how many. */
static int tables_prune(struct path *p, uint64_t va, uint64_t *freed)
{
	int n = 0;

	for (int level = p->level; table_may_free(va, level); level--) {
		if (!table_is_empty(p->table[level], index_at(va, level)))
			break;
		*p->slot[level - 1] = 0;
		freed[n++] = p->table[level];
	}
	return n;
}

/* Holds the page-table lock. */
static int unmap_page(uint64_t pml4, uint64_t va, uint64_t *pa)
{
	uint64_t freed[MAX_NEW_TABLES], e;
	struct path p;
	int err, n;

	err = find_page_start(pml4, va, &p);
	if (err)
		return err;
	e = *p.slot[p.level];
	*p.slot[p.level] = 0;
	n = tables_prune(&p, va, freed);
	tlb_shootdown_page(va);          /* every CPU has forgotten va */
	for (int i = 0; i < n; i++)
		frame_free(freed[i], 1);
	if (pa)
		*pa = e & leaf_addr_mask(p.level);
	return 0;
}

int page_unmap(uint64_t pml4, uint64_t va, uint64_t *pa)
{
	int err;

	spin_lock(&pt_lock);
	err = unmap_page(pml4, va, pa);
	spin_unlock(&pt_lock);
	return err;
}

/*
 * A run of pages, a batch at a time: clear up to UNMAP_BATCH entries,
 * keeping their frames and the tables they emptied, then one shootdown
 * for the batch, then free it all. A batch also ends before the tables
 * it could empty might overflow freed[] (a run crosses few tables: 512
 * pages share one). Holds the page-table lock.
 */
static int unmap_batch(uint64_t pml4, uint64_t va, unsigned n,
		       unsigned *done)
{
	uint64_t frames[UNMAP_BATCH], freed[4 * MAX_NEW_TABLES];
	unsigned k = 0;
	int nt = 0, err = 0;
	struct path p;

	while (k < n && k < UNMAP_BATCH &&
	       nt + MAX_NEW_TABLES <= (int)(sizeof freed / sizeof freed[0])) {
		uint64_t page = va + k * PAGE_SIZE;

		err = find_page_start(pml4, page, &p);
		if (!err && p.level != L_PT)
			err = PAGE_ERR_HUGE;
		if (err)
			break;
		frames[k++] = *p.slot[L_PT] & leaf_addr_mask(L_PT);
		*p.slot[L_PT] = 0;
		nt += tables_prune(&p, page, freed + nt);
	}
	if (k > 0)
		tlb_shootdown_range(va, k);   /* every CPU forgot them */
	for (unsigned i = 0; i < k; i++)
		frame_free(frames[i], 1);
	for (int i = 0; i < nt; i++)
		frame_free(freed[i], 1);
	*done = k;
	return err;
}

int page_unmap_run(uint64_t pml4, uint64_t va, unsigned n)
{
	unsigned done = 0;
	int err = 0;

	spin_lock(&pt_lock);
	for (unsigned k = 0; done < n && !err; done += k)
		err = unmap_batch(pml4, va + done * PAGE_SIZE, n - done, &k);
	spin_unlock(&pt_lock);
	return err;
}

/**
 * ## Translating and protecting
 *
 * `page_translate()` walks like the CPU and reports the frame, the
 * flags and the size of the page va lies in, with va's offset inside
 * the page added to the frame. It is what the kernel uses to answer
 * "which frame is behind this address?", and the host tests use it to
 * check every other operation.
 *
 * `page_protect()` rewrites the flags of an existing page, keeping its
 * frame, its size, and its A and D bits: those are the CPU's record
 * that the page was used and written, and changing the rights of a page
 * does not make it unused or clean (a later chapter, deciding which
 * pages to write back, would lose data). It upgrades the table entries
 * above the page as a new mapping would: otherwise adding U to a kernel
 * page would have no effect. Like `page_unmap()`, it wants the page's
 * first byte, so that a caller who thinks in 4 KiB pages cannot change
 * a whole 2 MiB page by accident.
 */
int page_translate(uint64_t pml4, uint64_t va, struct page_info *out)
{
	struct path p;
	uint64_t e, mask;
	int err;

	if (!is_canonical(va))
		return PAGE_ERR_NONCANONICAL;
	spin_lock(&pt_lock);
	err = find_page(pml4, va, &p);
	e = *p.slot[p.level];
	spin_unlock(&pt_lock);
	if (err)
		return err;
	mask = leaf_addr_mask(p.level);
	out->size = level_size(p.level);
	out->phys = (e & mask) | (va & (out->size - 1));
	out->flags = e & ~mask;
	if (p.level != L_PT)
		out->flags &= ~PTE_PS;
	return 0;
}

/* Holds the page-table lock. */
static int protect_page(uint64_t pml4, uint64_t va, uint64_t flags)
{
	struct path p;
	uint64_t e;
	int err;

	err = find_page_start(pml4, va, &p);
	if (err)
		return err;
	if (!flags_ok(flags, p.level))
		return PAGE_ERR_FLAGS;
	e = *p.slot[p.level] & (leaf_addr_mask(p.level) | PTE_A | PTE_D);
	e |= flags | PTE_P | (p.level != L_PT ? PTE_PS : 0);
	upgrade_path(&p, p.level, flags);
	*p.slot[p.level] = e;
	tlb_shootdown_page(va);      /* rights may have been taken away */
	return 0;
}

int page_protect(uint64_t pml4, uint64_t va, uint64_t flags)
{
	int err;

	spin_lock(&pt_lock);
	err = protect_page(pml4, va, flags);
	spin_unlock(&pt_lock);
	return err;
}

/* Record the walk for va; stops where the CPU would stop. */
void page_walk(uint64_t pml4, uint64_t va, struct page_walk *w)
{
	struct path p;

	*w = (struct page_walk){ 0 };
	if (!is_canonical(va))
		return;
	path_follow(pml4, va, L_PT, &p);
	w->levels = p.level + 1;
	for (int level = 0; level <= p.level; level++) {
		w->entry[level] = *p.slot[level];
		w->table[level] = p.table[level];
	}
}

/**
 * ## Printing flags
 *
 * `pte_flags_str()` writes one column per flag, always in the same
 * place, so that lines printed one under the other line up:
 *
 *     P W U PWT PCD A D PS G NX     every flag set
 *     P W - --- --- A D -- - NX     a written, not executable page
 *
 * A clear flag shows as dashes as wide as its name. The column "PS" is
 * bit 7: page size in a PDPTE or PDE, but PAT in a 4 KiB PTE; the
 * caller knows which level it printed. Address bits and the bits the
 * CPU ignores are not shown.
 */
static const struct {
	uint64_t bit;
	const char *name;
} flag_columns[] = {
	{ PTE_P, "P" },     { PTE_W, "W" },     { PTE_U, "U" },
	{ PTE_PWT, "PWT" }, { PTE_PCD, "PCD" }, { PTE_A, "A" },
	{ PTE_D, "D" },     { PTE_PS, "PS" },   { PTE_G, "G" },
	{ PTE_NX, "NX" },
};

const char *pte_flags_str(uint64_t entry, char *buf, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return buf;
	for (size_t i = 0; i < sizeof flag_columns / sizeof flag_columns[0];
	     i++) {
		const char *s = flag_columns[i].name;
		bool set = entry & flag_columns[i].bit;

		if (i > 0 && n + 1 < len)
			buf[n++] = ' ';
		for (; *s && n + 1 < len; s++)
			buf[n++] = set ? *s : '-';
	}
	buf[n] = '\0';
	return buf;
}

const char *page_strerror(int err)
{
	switch (err) {
	case 0:                     return "success";
	case PAGE_ERR_EXISTS:       return "already mapped";
	case PAGE_ERR_NOMEM:        return "no free frame for a page table";
	case PAGE_ERR_ALIGN:        return "address not aligned to the page "
					   "size";
	case PAGE_ERR_NONCANONICAL: return "virtual address not canonical";
	case PAGE_ERR_NOT_MAPPED:   return "not mapped";
	case PAGE_ERR_HUGE:         return "a large page or a table is in "
					   "the way";
	case PAGE_ERR_FLAGS:        return "flags contain address bits or PS";
	default:                    return "unknown paging error";
	}
}
