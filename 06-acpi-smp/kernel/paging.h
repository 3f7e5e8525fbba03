/*
 * paging.h: the page-table mapper. It builds, changes and reads the
 * x86-64 4-level page tables of one address space, given the physical
 * address of its top table (the PML4).
 *
 * paging.c is pure logic: it touches memory only through the four
 * environment hooks declared at the end of this file, so the host unit
 * tests (tests/host/test_paging.c) run the very same code on simulated
 * physical memory.
 */
#ifndef PAGING_H
#define PAGING_H

#include <stddef.h>
#include <stdint.h>

/**
 * ## Pages, tables and entries
 *
 * With paging on, every address a program uses is *virtual*, and the
 * CPU translates it to a *physical* address (a place in RAM or a
 * device) by reading tables in memory. The unit of translation is the
 * *page*: 4 KiB, or 2 MiB or 1 GiB for the large pages described in
 * paging.c. A virtual address is split like this (bits 63..48 only copy
 * bit 47, see "canonical addresses" in paging.c):
 *
 *     47      39 38      30 29      21 20      12 11         0
 *     | PML4 idx | PDPT idx |  PD idx  |  PT idx  | page offset |
 *
 * Each table is one 4 KiB page holding 512 *entries* of 8 bytes, and
 * each 9-bit index picks one entry. The Intel manual names the four
 * levels PML4 (page-map level 4), PDPT (page-directory-pointer table),
 * PD (page directory) and PT (page table), and their entries PML4E,
 * PDPTE, PDE and PTE. An entry holds the physical address of the next
 * table, or of the page itself, in bits 51..12, and *flags* in the
 * rest. CR3 holds the physical address of the PML4.
 */
#define PAGE_SIZE    4096ull          /* a 4 KiB page, mapped by a PTE */
#define PAGE_SIZE_2M (2ull << 20)     /* a PDE with PS maps 2 MiB */
#define PAGE_SIZE_1G (1ull << 30)     /* a PDPTE with PS maps 1 GiB */
#define PT_ENTRIES   512              /* entries in every table */

/**
 * ### The flag bits
 *
 * The names are the Intel manual's (SDM vol. 3, chapter "Paging",
 * section "4-level paging", the tables "Format of a ... entry").
 *
 * - **P**: present. When it is clear the CPU ignores every other bit,
 *   and an access through the entry raises a page fault.
 * - **W** (R/W): writes allowed. **U** (U/S): user mode (ring 3) may
 *   access. An access is allowed only if *every* level of the walk
 *   allows it, which is why paging.c cares about these bits in the
 *   tables above the page, too.
 * - **PWT**, **PCD** and **PAT** choose the *memory type* (write-back,
 *   uncached, write-combining, ...) through the PAT register; all
 *   clear means normal, cached RAM. Device memory needs uncached.
 * - **A** (accessed) and **D** (dirty): set by the CPU itself when it
 *   uses the entry or writes the page. The operating system reads and
 *   clears them (to find pages to evict, later in the book).
 * - **PS** (page size): in a PDPTE or a PDE, the entry maps a 1 GiB or
 *   2 MiB page itself instead of pointing at a table. In a PTE the same
 *   bit 7 is PAT, and in a large-page entry PAT moves to bit 12.
 * - **G** (global): the translation survives a CR3 reload, for kernel
 *   pages that every address space shares (needs CR4.PGE).
 * - **NX** (XD, execute-disable): no instruction may be fetched from
 *   the page (needs EFER.NXE, which vm_init sets; without it bit 63 is
 *   reserved, and any entry that sets it faults).
 */
#define PTE_P         (1ull << 0)   /* P: present */
#define PTE_W         (1ull << 1)   /* R/W: read/write */
#define PTE_U         (1ull << 2)   /* U/S: user/supervisor */
#define PTE_PWT       (1ull << 3)   /* PWT: page-level write-through */
#define PTE_PCD       (1ull << 4)   /* PCD: page-level cache disable */
#define PTE_A         (1ull << 5)   /* A: accessed */
#define PTE_D         (1ull << 6)   /* D: dirty (leaf entries only) */
#define PTE_PS        (1ull << 7)   /* PS: page size (PDPTE, PDE) */
#define PTE_PAT       (1ull << 7)   /* PAT: in a 4 KiB PTE */
#define PTE_G         (1ull << 8)   /* G: global (leaf entries only) */
#define PTE_PAT_LARGE (1ull << 12)  /* PAT: in a 2 MiB/1 GiB entry */
#define PTE_NX        (1ull << 63)  /* XD: execute-disable */

/* The frame address in an entry: bits 51..12, 51..21 or 51..30. */
#define PTE_ADDR    0x000FFFFFFFFFF000ull  /* 4 KiB page or a table */
#define PTE_ADDR_2M 0x000FFFFFFFE00000ull  /* 2 MiB page (PDE, PS) */
#define PTE_ADDR_1G 0x000FFFFFC0000000ull  /* 1 GiB page (PDPTE, PS) */

/* Errors, always negative; page_strerror() gives a sentence. */
#define PAGE_ERR_EXISTS       (-1)  /* va is already mapped */
#define PAGE_ERR_NOMEM        (-2)  /* no frame for a new table */
#define PAGE_ERR_ALIGN        (-3)  /* va or pa not aligned to the page
                                       size, or pa above bit 51 */
#define PAGE_ERR_NONCANONICAL (-4)  /* bits 63..47 of va differ */
#define PAGE_ERR_NOT_MAPPED   (-5)  /* nothing is mapped at va */
#define PAGE_ERR_HUGE         (-6)  /* a 2 MiB/1 GiB page is in the way
                                       of a 4 KiB operation, or a table
                                       in the way of a large page */
#define PAGE_ERR_FLAGS        (-7)  /* flags hold address bits or PS */

const char *page_strerror(int err);

/* What page_translate() found at va. */
struct page_info {
	uint64_t phys;   /* physical address of va itself, offset included */
	uint64_t flags;  /* the leaf entry's flags, without the address and
	                    without PS (size says that); P always set */
	uint64_t size;   /* PAGE_SIZE, PAGE_SIZE_2M or PAGE_SIZE_1G */
};

/* Every entry a walk read, for diagnostics (the page-fault report of
 * chapter 03, gdb's pagewalk). Index 0 is the PML4E, 3 the PTE. */
struct page_walk {
	int levels;          /* entries filled, 1..4; 0: va non-canonical */
	uint64_t entry[4];   /* PML4E, PDPTE, PDE, PTE, as read */
	uint64_t table[4];   /* physical address of the table each entry
	                        was read from */
};

/*
 * The operations. pml4 is always the *physical* address of the
 * address space's PML4; va a virtual and pa a physical address.
 * Each returns 0 or a negative PAGE_ERR_* code, and changes nothing at
 * all when it fails. Details and the reasons behind them: paging.c.
 *
 * Each takes the page-table lock for its whole run (paging.c, "One
 * lock for the tables"), so the caller may hold the heap lock but not
 * the frame lock (the lock order, spinlock.c). Precondition: every
 * table reachable from pml4 was made by these functions or follows
 * their rules (one parent per table).
 */

/* Map the 4 KiB page at va to the frame pa. P is implied. flags: any
 * of W U PWT PCD PAT G NX; also A, D and the bits the CPU leaves to
 * software (9-11, 52-62); no address bits. */
int page_map(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags);

/* Map the 2 MiB page at va to pa (a PDE with PS). flags as for
 * page_map, but PAT is PTE_PAT_LARGE, and PTE_PS is refused: the
 * mapper sets it itself. */
int page_map_2m(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags);

/* Remove the mapping (4 KiB, 2 MiB or 1 GiB) whose first byte is va,
 * and store its frame in *pa (which may be NULL). The frame is not
 * freed: the caller owns it. Page tables left empty are freed, except
 * the PML4 and the PDPTs of the kernel half. */
int page_unmap(uint64_t pml4, uint64_t va, uint64_t *pa);

/* Unmap the n 4 KiB pages from va on and give their frames back to the
 * frame allocator, each once every CPU has forgotten it: one shootdown
 * for up to UNMAP_BATCH pages, not one a page. A page that is not a
 * mapped 4 KiB page stops the run there, with its error; the pages
 * before it are unmapped and freed. */
#define UNMAP_BATCH 64
int page_unmap_run(uint64_t pml4, uint64_t va, unsigned n);

/* Where does va lead? Any va, not only a page's first byte. */
int page_translate(uint64_t pml4, uint64_t va, struct page_info *out);

/* Replace the flags of the mapping whose first byte is va. The frame,
 * the page size and the A and D bits stay (flags may add A or D);
 * flags are checked as for page_map, or as for page_map_2m when the
 * mapping is a large page. */
int page_protect(uint64_t pml4, uint64_t va, uint64_t flags);

/* Record every entry the CPU would read to translate va. Takes no
 * lock: a snapshot for reports, which may be taken with the lock held
 * (paging.c). */
void page_walk(uint64_t pml4, uint64_t va, struct page_walk *w);

/* Decode an entry's flags into buf, in fixed columns (see paging.c):
 * "P W U PWT PCD A D PS G NX" when all are set, a '-' per letter for
 * each clear one. Returns buf; PTE_FLAGS_STR_LEN bytes always suffice,
 * and a shorter buffer gets a cut, NUL-terminated string. */
#define PTE_FLAGS_STR_LEN 26
const char *pte_flags_str(uint64_t entry, char *buf, size_t len);

/**
 * ## What the environment provides
 *
 * The mapper never reads or writes physical memory by itself; it asks
 * for a pointer through `pt_phys_to_virt()`. The kernel answers with
 * its direct map, `phys + KERNEL_WINDOW`; the host test with the base
 * of an array that plays physical memory. New tables come from the
 * frame allocator (frame.h: `frame_alloc()`, `frame_free()`), and
 * `tlb_flush_page()` tells the CPU to forget what it cached about va
 * (the kernel runs INVLPG; the host test writes the call down).
 * `tlb_shootdown_page()` tells *every* CPU, and returns when all have
 * forgotten va (the kernel's tlb.c; the host test writes it down too);
 * `tlb_shootdown_range()` the same for `pages` pages from va on.
 * The lock is spinlock.h's (the host test brings its own).
 */
void *pt_phys_to_virt(uint64_t phys);
void tlb_flush_page(uint64_t va);
void tlb_shootdown_page(uint64_t va);
void tlb_shootdown_range(uint64_t va, unsigned pages);

#endif /* PAGING_H */
