/*
 * heap.h: the kernel heap. kmalloc() and kfree() hand out and take
 * back pieces of memory of any size, from a window of virtual memory
 * that grows and shrinks a page at a time. heap.c explains the design;
 * tests/host/test_heap.c tests it; bench/bench_heap.c measures it.
 *
 * Every function takes the heap lock (spinlock.h) itself: call it with
 * no lock held, since the heap is first in the lock order (spinlock.c).
 * The console is a leaf: the heap prints under its lock, so no one may
 * hold the console's lock across kmalloc(). Interrupt handlers may call
 * the heap only from chapter 06 on: its growth calls the frame
 * allocator and the mapper, which until then have no lock, and whose
 * other callers may be interrupted half-way.
 */
#ifndef HEAP_H
#define HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel's heap window: PML4 slot 509 (Redox 0.3.5's address).
 * Objects live in its first 256 GiB; the page descriptors (heap.c)
 * right after them, 16 bytes for each page of the window. */
#define HEAP_BASE   0xFFFFFE8000000000ull
#define HEAP_WINDOW (256ull << 30)
#define HEAP_DESC_BASE (HEAP_BASE + HEAP_WINDOW)

/* The debug checks (heap.c, "Catching mistakes") are on, except in an
 * optimised build (`make OPT=-O2`, see tools/chapter.mk) or when the
 * build says -DHEAP_DEBUG=0; the benchmark measures what they cost. */
#ifndef HEAP_DEBUG
#ifdef OPTIMISED_BUILD
#define HEAP_DEBUG 0
#else
#define HEAP_DEBUG 1
#endif
#endif

/**
 * ## What the heap promises
 *
 * The allocator is five functions, the same as C's `malloc` family with
 * a `k` in front, and one promise about mistakes: the heap never
 * silently accepts a pointer it did not hand out.
 *
 * - `kmalloc(size)`: size bytes, aligned to 16, or NULL when memory
 *   runs out (the first time, with a message; the kernel goes on). The
 *   bytes are not cleared. `kmalloc(0)` returns a unique pointer to an
 *   object of no bytes: it must be freed, and nothing may be written
 *   through it.
 * - `kfree(p)`: give back what kmalloc(), kcalloc(), krealloc() or
 *   kmalloc_aligned() returned. `kfree(NULL)` does nothing. Anything
 *   else (a pointer the heap never returned, one inside an object, a
 *   second free) panics with the address, the object's size class and
 *   the caller.
 * - `kcalloc(n, size)`: n * size bytes, all zero; NULL, with a message,
 *   if the product overflows.
 * - `krealloc(p, size)`: an object of size bytes holding the first bytes
 *   of p's, then p freed; p itself if it already fits.
 *   `krealloc(NULL, size)` is kmalloc(size). On failure NULL, and p is
 *   untouched. The result is aligned to 16 only, whatever p's alignment
 *   was.
 * - `kmalloc_aligned(size, align)`: as kmalloc, at a multiple of align,
 *   a power of two up to 4096 (a page); any other align gets NULL and a
 *   message. Freed with kfree().
 */
void *kmalloc(size_t size);
void kfree(void *p);
void *kcalloc(size_t n, size_t size);
void *krealloc(void *p, size_t size);
void *kmalloc_aligned(size_t size, size_t align);

/**
 * ## Setting it up, and looking at it
 *
 * - `heap_init(base, window, checks)`: the heap owns the virtual
 *   addresses [base, base + window) for objects and [base + window,
 *   base + window + window / 256) for its page descriptors; nothing may
 *   be mapped there. base and window are multiples of 1 MiB. It maps the
 *   first 1 MiB, as the reserve. checks: the debug checks on or off.
 *   Returns 0, or -1 if there was no memory for even that (the heap then
 *   grows later). Once, before any other call.
 * - `heap_trim()`: unmap the reserve (free pages the heap keeps mapped)
 *   and give its frames back. Returns the pages released, descriptor
 *   pages included. With nothing
 *   allocated, the heap then holds no frame at all.
 * - `heap_set_checks(on)`: switch the debug checks; only possible while
 *   no object is allocated (objects are laid out differently). 0 or -1.
 * - `heap_get_stats(s)`: a snapshot of the counters below, all taken at
 *   one moment, under the heap's lock.
 */
int heap_init(uintptr_t base, size_t window, bool checks);
size_t heap_trim(void);
int heap_set_checks(bool on);

#define HEAP_CLASSES 23  /* size classes, 16 to 2048 bytes (heap.c) */

struct heap_class_stats {
	uint32_t size;      /* bytes per object */
	uint32_t per_page;  /* objects per slab page */
	uint64_t pages;     /* slab pages of this class */
	uint64_t objects;   /* objects handed out */
};

struct heap_stats {
	uint64_t data_pages;     /* pages mapped for objects, and reserve */
	uint64_t desc_pages;     /* pages mapped for page descriptors */
	uint64_t reserve_pages;  /* free pages kept mapped */
	uint64_t extent_pages;   /* window pages that have descriptors */
	uint64_t slab_pages;     /* pages cut into small objects */
	uint64_t large_runs;     /* large objects (runs of pages) */
	uint64_t large_pages;    /* and their pages */
	uint64_t objects;        /* objects handed out, small and large */
	uint64_t bytes_in_use;   /* bytes of the slots and runs handed out */
	uint64_t grows;          /* times the heap mapped more pages */
	uint64_t shrinks;        /* times it unmapped pages */
	uint64_t pages_mapped;   /* pages mapped in all, descriptors too */
	uint64_t pages_unmapped; /* pages unmapped in all */
	uint64_t failures;       /* requests answered with NULL */
	bool checks;             /* the debug checks are on */
	struct heap_class_stats cls[HEAP_CLASSES];
};

void heap_get_stats(struct heap_stats *s);

/**
 * ## What the heap needs from its host
 *
 * heap.c never touches a page table, a frame or the console itself:
 * only the five hooks below do, which the kernel provides in
 * heap_setup.c, and the host tests and the benchmark in their own way
 * (memory from the host's mmap(), a panic that jumps back into the
 * test). So the very same heap.c runs on the build machine, under
 * AddressSanitizer, against a model of what it should do.
 *
 * The hooks are called with the heap lock held, so they must not call
 * the heap: in the kernel they use the mapper and the frame allocator,
 * which come after the heap in the lock order and never allocate.
 */

/* Map a fresh frame, writable, not executable, global, at the page va.
 * 0, or -1 when there is no frame or no page table for it. */
int heap_map_page(uintptr_t va);

/* Unmap the n pages from the page va on (none if n is 0), free their
 * frames and flush their TLB entries. A run in one call: with many
 * CPUs, one flush request covers the run (chapter 06). */
void heap_unmap_pages(uintptr_t va, uint32_t n);

/* Report a misuse (a double free, say) and stop. The kernel panics; a
 * host test jumps back into the test. */
_Noreturn void heap_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Print a message and go on (running out of memory, a bad argument). */
void heap_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Name a code address, as "function+0x1c", into buf. Returns buf. */
const char *heap_caller_name(uintptr_t pc, char *buf, size_t len);

/* The kernel's start-up (heap_setup.c): heap_init() at HEAP_BASE and a
 * line saying what it mapped. Boot CPU, once, after vm_init() and
 * frame_setup_high(). */
void heap_setup(void);

#endif /* HEAP_H */
