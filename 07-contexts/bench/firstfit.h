/*
 * firstfit.h: a C re-creation of the kernel heap of Redox 0.3.5, for
 * the benchmark only: the first-fit allocator of the Rust crate
 * linked_list_allocator 0.5 (an address-sorted list of free "holes",
 * kept inside the holes), and Redox's wrapper around it, which maps
 * 1 MiB more whenever an allocation fails and never gives memory
 * back. bench_heap.c compares it with kernel/heap.c.
 */
#ifndef FIRSTFIT_H
#define FIRSTFIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A free block, written at its own start: linked_list_allocator's
 * Hole. Every hole is at least FF_MIN_SIZE bytes. */
struct ff_hole {
	size_t size;
	struct ff_hole *next;  /* the next hole at a higher address */
};

#define FF_MIN_SIZE (2 * sizeof(size_t))  /* HoleList::min_size() */
#define FF_HOLE_ALIGN 8                  /* align_of::<Hole>() */

/* linked_list_allocator's Heap: the range [bottom, bottom + size) and
 * its holes, in address order, after a dummy first hole of size 0. */
struct ff_heap {
	uintptr_t bottom;
	size_t size;
	struct ff_hole first;
	uint64_t steps;        /* holes passed by all walks (for the tests) */
};

void ff_init(struct ff_heap *h, uintptr_t bottom, size_t size);

/* Heap::allocate_first_fit(): the first hole, in address order, that
 * holds size bytes at the alignment (a power of two), or NULL. */
void *ff_alloc(struct ff_heap *h, size_t size, size_t align);

/* Heap::deallocate(): give back ptr with the size it was allocated
 * with (Rust passes the layout; the caller must remember it). */
void ff_free(struct ff_heap *h, void *ptr, size_t size);

/* Heap::extend(): the range grows by `by` bytes at its top. */
void ff_extend(struct ff_heap *h, size_t by);

/* Holes in the list now (the benchmark's measure of fragmentation). */
size_t ff_holes(const struct ff_heap *h);

/*
 * Redox 0.3.5's allocator (src/allocator/linked_list.rs): the heap
 * starts as 1 MiB at `base`; when an allocation fails, it maps the
 * next 1 MiB (here: calls map(start, length), which the benchmark
 * counts) and extends the heap, and tries again, until the request
 * fits. Nothing is ever unmapped.
 */
#define REDOX_HEAP_STEP (1u << 20)

struct redox_heap {
	struct ff_heap heap;
	uintptr_t base, limit;          /* the window it may grow into */
	size_t grows;                   /* 1 MiB steps taken */
	void (*map)(uintptr_t start, size_t length);
};

void redox_init(struct redox_heap *r, uintptr_t base, uintptr_t limit,
		void (*map)(uintptr_t start, size_t length));
void *redox_alloc(struct redox_heap *r, size_t size, size_t align);
void redox_free(struct redox_heap *r, void *ptr, size_t size);

#endif /* FIRSTFIT_H */
