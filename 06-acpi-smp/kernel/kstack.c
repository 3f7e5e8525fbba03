/*
 * kstack.c: allocates kernel stacks, each followed downward by an
 * unmapped guard page, in a virtual area of their own.
 */
#include "kstack.h"
#include "frame.h"
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
 * Precondition: boot CPU, interrupts off (no lock yet).
 */
static uint64_t next_slot = KSTACK_AREA;

/* Map `pages` fresh pages at the top of the next slot. Returns 0, or -1
 * if frames or page tables run out (nothing stays allocated then). */
int kstack_alloc(unsigned pages, struct kstack *out)
{
	uint64_t top, bottom;
	unsigned done;

	if (pages == 0 || pages > KSTACK_MAX_PAGES)
		return -1;
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
	return 0;
}
