/*
 * kstack.c: allocates kernel stacks, each followed downward by an
 * unmapped guard page, in a virtual area of their own.
 */
#include "kstack.h"
#include "frame.h"
#include "kprintf.h"
#include "paging.h"
#include "vm.h"

/**
 * ## Stacks that fault when they overflow
 *
 * A stack grows down. If nothing stops it, a deep recursion walks over
 * whatever lies below and corrupts it silently. Chapter 02 protected the
 * boot stack with an unmapped *guard page*. The stacks of this chapter
 * (and, later, every thread's kernel stack) get one too.
 *
 * Each stack gets a 64 KiB slot of virtual space in PML4 slot 508
 * (0xFFFFFE0000000000). The slot's lowest page is never mapped, and the
 * stack's pages sit at the top of the slot, so the page below the stack
 * is always a hole. The frames come from the frame allocator and need
 * not be contiguous, because only the virtual addresses have to be.
 * Slots are handed out in order and never reused (chapter 07 frees
 * thread stacks).
 *
 * The boot CPU moves onto such a stack as soon as there are frames and
 * page tables to make one (main.c): the bootloader's stack has a guard
 * page too, but a large enough frame steps right over a single page,
 * and below that stack lies low memory that nothing protects. The
 * kernel is therefore also built with `-fstack-clash-protection`
 * (tools/chapter.mk), so that a function that moves RSP down by more
 * than a page touches every page on the way, and so the guard.
 *
 * Each stack also gets a name, for the exception report: a fault
 * address in the stack area is then "the guard page below the boot
 * CPU's kernel stack", not a bare number. The area itself is a region
 * of vm.c's table, "kernel stacks".
 *
 * Precondition: boot CPU, interrupts off (no lock yet).
 */
static uint64_t next_slot = KSTACK_AREA;

#define NAMED_MAX 16
static struct {
	const char *name;
	struct kstack ks;
} named[NAMED_MAX];
static int n_named;

/* Map `pages` fresh pages at the top of the next slot. Returns 0, or -1
 * if frames or page tables run out (nothing stays allocated then). */
int kstack_alloc(unsigned pages, const char *name, struct kstack *out)
{
	uint64_t top, bottom;
	unsigned done;

	if (pages == 0 || pages > KSTACK_MAX_PAGES)
		return -1;
	if (next_slot == KSTACK_AREA)
		vm_region_add("kernel stacks", KSTACK_AREA, KSTACK_AREA_END,
			      0);
	top = next_slot + KSTACK_SLOT;
	bottom = top - pages * PAGE_SIZE;
	for (done = 0; done < pages; done++) {
		uint64_t pa, va = bottom + done * PAGE_SIZE;

		if (frame_alloc(1, &pa) != 0)
			break;
		if (page_map(kernel_pml4, va, pa, PTE_W | PTE_G | PTE_NX)) {
			frame_free(pa, 1);
			break;
		}
	}
	if (done < pages) {                 /* undo the pages we mapped */
		while (done--) {
			uint64_t pa;

			page_unmap(kernel_pml4, bottom + done * PAGE_SIZE, &pa);
			frame_free(pa, 1);
		}
		return -1;
	}
	next_slot += KSTACK_SLOT;
	out->bottom = bottom;
	out->top = top;
	if (name && n_named < NAMED_MAX) {
		named[n_named].name = name;
		named[n_named].ks = *out;
		n_named++;
	}
	return 0;
}

const char *kstack_describe(uint64_t va, char *buf, size_t len)
{
	if (va < KSTACK_AREA || va >= KSTACK_AREA_END)
		return NULL;
	for (int i = 0; i < n_named; i++) {
		const struct kstack *ks = &named[i].ks;

		if (va >= ks->bottom && va < ks->top) {
			ksnprintf(buf, len, "in the %s stack", named[i].name);
			return buf;
		}
		if (va >= ks->bottom - PAGE_SIZE && va < ks->bottom) {
			ksnprintf(buf, len, "the guard page below the %s "
				  "stack", named[i].name);
			return buf;
		}
	}
	ksnprintf(buf, len, "in the kernel stack area, outside every "
		  "named stack and its guard page");
	return buf;
}
