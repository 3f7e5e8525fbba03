/*
 * heap_setup.c: the kernel's side of the heap: heap.c's hooks, which
 * map and unmap its pages with the frame allocator and the mapper, turn
 * its reports into panics and messages, and name callers with the
 * kernel's symbol table; and the start-up call.
 */
#include "heap.h"
#include "frame.h"
#include "kprintf.h"
#include "ksyms.h"
#include "paging.h"
#include "panic.h"
#include "vm.h"
#include <stdarg.h>

/**
 * ## Mapping a heap page
 *
 * One frame from the frame allocator, mapped at va in the kernel's
 * tables, writable, not executable and global. The mapper takes more
 * frames if it needs new tables; when either runs out, the frame is
 * given back and the heap hears -1. The heap calls this with its lock
 * held: the frame allocator and the mapper come after the heap in the
 * lock order, and neither calls the heap.
 */
#define HEAP_PAGE_FLAGS (PTE_W | PTE_G | PTE_NX)

int heap_map_page(uintptr_t va)
{
	uint64_t pa;

	if (frame_alloc(1, &pa) != 0)
		return -1;
	if (page_map(kernel_pml4, va, pa, HEAP_PAGE_FLAGS) != 0) {
		frame_free(pa, 1);
		return -1;
	}
	return 0;
}

/* page_unmap_run() frees the frames only once every CPU has forgotten
 * the pages (a TLB shootdown, from chapter 06 on), with one request to
 * the other CPUs for up to UNMAP_BATCH pages: a shrink of the heap
 * unmaps hundreds at once. */
void heap_unmap_pages(uintptr_t va, uint32_t n)
{
	int err = page_unmap_run(kernel_pml4, va, n);

	if (err)
		panic("heap: cannot unmap %u pages from %lx: %s", n,
		      (unsigned long)va, page_strerror(err));
}

_Noreturn void heap_panic(const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	panic("heap: %s", msg);
}

void heap_warn(const char *fmt, ...)
{
	va_list ap;

	kprintf("heap: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
}

const char *heap_caller_name(uintptr_t pc, char *buf, size_t len)
{
	return ksym_format(pc, buf, len);
}

void heap_setup(void)
{
	struct heap_stats s;

	vm_region_add("kernel heap", HEAP_BASE, HEAP_DESC_BASE, 0);
	vm_region_add("kernel heap: page descriptors", HEAP_DESC_BASE,
		      HEAP_DESC_BASE + HEAP_WINDOW / 256, 0);
	if (heap_init(HEAP_BASE, HEAP_WINDOW, HEAP_DEBUG) != 0)
		kprintf("heap: no memory for the first 1 MiB; it will grow "
			"when it can\n");
	heap_get_stats(&s);
	kprintf("Heap: %lX-%lX, %lu KiB mapped, debug checks %s\n",
		(unsigned long)HEAP_BASE,
		(unsigned long)(HEAP_BASE + HEAP_WINDOW),
		(unsigned long)(s.data_pages * 4), s.checks ? "on" : "off");
}
