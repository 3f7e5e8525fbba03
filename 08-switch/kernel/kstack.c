/*
 * kstack.c: allocates kernel stacks, each followed downward by an
 * unmapped guard page, in a virtual area of their own, and frees them
 * again (the stacks of threads that have ended).
 */
#include "kstack.h"
#include "frame.h"
#include "kprintf.h"
#include "kslots.h"
#include "panic.h"
#include "paging.h"
#include "percpu.h"
#include "spinlock.h"
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
 * The slots come from kslots.c, lowest free slot first, and go back
 * there when a stack is freed: threads come and go (context.c), and
 * their stacks with them.
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
 * of vm.c's table, "kernel stacks". (A thread's stack has no name
 * here: context.c names the thread, for the same reports.)
 *
 * The lock guards the slots and the names; nothing else is taken while
 * it is held (the mapping and the frames come after it is released),
 * so it sits at the end of the lock order, as the console does. Above
 * all it is never held across a TLB shootdown, which waits for the
 * other CPUs: one of them might be spinning on the lock with its
 * interrupts off, unable to answer.
 *
 * Only unnamed stacks (threads') are ever freed: a CPU's stacks live
 * as long as the machine, so the names never change once written. The
 * names are kept for every stack of every CPU: each has a kernel stack
 * and four interrupt stacks (gdt.c). A report reads them without the
 * lock (it may come from inside it): the entries below the count are
 * complete, since the count is raised after.
 */
static struct spinlock kstack_lock = SPINLOCK_INIT("kernel stacks");
static struct kslots slots;
static bool region_added;           /* by the boot CPU's first stack */

#define NAMED_MAX (16 + 5 * CPU_MAX)
static struct {
	const char *name;
	struct kstack ks;
} named[NAMED_MAX];
static int n_named;

/* Map `pages` fresh pages at the top of a free slot. Returns 0, or -1
 * if frames, page tables or slots run out (nothing stays allocated
 * then). */
int kstack_alloc(unsigned pages, const char *name, struct kstack *out)
{
	uint64_t top, bottom;
	unsigned done;
	int32_t slot;

	if (pages == 0 || pages > KSTACK_MAX_PAGES)
		return -1;
	if (!region_added) {
		vm_region_add("kernel stacks", KSTACK_AREA, KSTACK_AREA_END,
			      0);
		region_added = true;
	}
	spin_lock(&kstack_lock);
	slot = kslots_alloc(&slots);
	spin_unlock(&kstack_lock);
	if (slot < 0)
		return -1;
	top = KSTACK_AREA + ((uint64_t)slot + 1) * KSTACK_SLOT;
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
		spin_lock(&kstack_lock);
		kslots_free(&slots, (uint32_t)slot);
		spin_unlock(&kstack_lock);
		return -1;
	}
	out->bottom = bottom;
	out->top = top;
	spin_lock(&kstack_lock);
	if (name && n_named < NAMED_MAX) {
		named[n_named].name = name;
		named[n_named].ks = *out;
		__atomic_store_n(&n_named, n_named + 1, __ATOMIC_RELEASE);
	}
	spin_unlock(&kstack_lock);
	return 0;
}

/**
 * ### Freeing a stack
 *
 * The order matters, because other CPUs may still hold translations
 * of the stack's pages in their TLBs (any CPU that ever touched the
 * stack: the one that ran the thread, at least):
 *
 * 1. Unmap every page, keeping its frame.
 * 2. Every CPU forgets the pages: one TLB shootdown for the stack
 *    (tlb.c), which returns only once each CPU has flushed. Until
 *    then a stale translation could still write to a frame.
 * 3. Free the frames: nobody can reach them any more.
 * 4. Free the slot, whose next stack gets fresh frames.
 *
 * page_unmap_run() does steps 1 to 3, in this order.
 *
 * The stack lock is not held during steps 1 and 2: a CPU spinning on
 * it with interrupts off would still answer the shootdown (spinlock.c
 * answers while it waits), but nothing here needs the lock until the
 * slot goes back.
 */
void kstack_free(const struct kstack *ks)
{
	unsigned pages = (unsigned)((ks->top - ks->bottom) / PAGE_SIZE);
	uint32_t slot = (uint32_t)((ks->bottom - KSTACK_AREA) / KSTACK_SLOT);
	int n = __atomic_load_n(&n_named, __ATOMIC_ACQUIRE);

	if (ks->bottom < KSTACK_AREA || ks->top > KSTACK_AREA_END ||
	    pages == 0 || pages > KSTACK_MAX_PAGES || ks->top % KSTACK_SLOT)
		panic("kstack_free: 0x%lx-0x%lx is not a stack", ks->bottom,
		      ks->top);
	for (int i = 0; i < n; i++)
		if (named[i].ks.bottom == ks->bottom)
			panic("kstack_free: the %s stack is for good",
			      named[i].name);
	if (page_unmap_run(kernel_pml4, ks->bottom, pages) != 0) /* 1.-3. */
		panic("kstack_free: 0x%lx-0x%lx is not all mapped",
		      ks->bottom, ks->top);
	spin_lock(&kstack_lock);                                /* 4. */
	if (kslots_free(&slots, slot) != 0) {
		spin_unlock(&kstack_lock);
		panic("kstack_free: slot %u was not in use", slot);
	}
	spin_unlock(&kstack_lock);
}

uint32_t kstack_slots_used(void)
{
	return __atomic_load_n(&slots.count, __ATOMIC_RELAXED);
}

const char *kstack_describe(uint64_t va, char *buf, size_t len)
{
	int n = __atomic_load_n(&n_named, __ATOMIC_ACQUIRE);

	if (va < KSTACK_AREA || va >= KSTACK_AREA_END)
		return NULL;
	for (int i = 0; i < n; i++) {
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
