/*
 * firstfit.c: linked_list_allocator 0.5's first-fit heap and Redox
 * 0.3.5's growing wrapper, re-created in C for bench_heap.c. The logic
 * is kept step for step, its costs included: that is what is measured.
 *
 * - Allocation walks the holes from the lowest address and takes the
 *   first one that can hold the request at its alignment. A hole whose
 *   start is not aligned is split, and the piece in front becomes a new
 *   hole; but it must be at least FF_MIN_SIZE bytes, so the aligned
 *   address is rounded up from hole + FF_MIN_SIZE. What is left behind
 *   the block becomes a hole too, or, if it would be smaller than
 *   FF_MIN_SIZE, the hole is skipped as unusable. The crate unlinks the
 *   hole and gives both pieces back through the free path, each with a
 *   walk from the lowest hole (a second and third walk per split
 *   allocation; later versions of the crate link them in place).
 * - Freeing walks the holes from the lowest address to the place of the
 *   freed block, and joins it with the hole before it and the hole
 *   after it when they touch. So every free costs a walk over all the
 *   holes below the block.
 * - Sizes are rounded up to at least FF_MIN_SIZE and to a multiple of 8.
 */
#include <stdio.h>
#include <stdlib.h>

#include "firstfit.h"

static uintptr_t align_up(uintptr_t x, size_t align)
{
	return (x + align - 1) & ~(uintptr_t)(align - 1);
}

/* Heap::allocate_first_fit() and deallocate() round the size alike. */
static size_t hole_size(size_t size)
{
	if (size < FF_MIN_SIZE)
		size = FF_MIN_SIZE;
	return align_up(size, FF_HOLE_ALIGN);
}

static struct ff_hole *hole_at(uintptr_t addr, size_t size,
			       struct ff_hole *next)
{
	struct ff_hole *h = (struct ff_hole *)addr;

	h->size = size;
	h->next = next;
	return h;
}

void ff_init(struct ff_heap *h, uintptr_t bottom, size_t size)
{
	h->bottom = bottom;
	h->size = size;
	h->first.size = 0;
	h->steps = 0;
	h->first.next = hole_at(bottom, size, NULL);
}

/* split_hole(): where in the hole the block would go, and the padding
 * in front of and behind it; false if it does not fit. */
static bool split_hole(const struct ff_hole *hole, size_t size,
		       size_t align, uintptr_t *addr, size_t *front,
		       size_t *back)
{
	uintptr_t start = (uintptr_t)hole, end = start + hole->size;
	uintptr_t aligned = start;
	size_t rest;

	*front = 0;
	if (align_up(start, align) != start) {
		aligned = align_up(start + FF_MIN_SIZE, align);
		*front = aligned - start;
	}
	if (aligned + size > end)
		return false;                  /* too small */
	rest = end - aligned - size;
	if (rest != 0 && rest < FF_MIN_SIZE)
		return false;                  /* the rest would be unusable */
	*addr = aligned;
	*back = rest;
	return true;
}

static void hole_return(struct ff_heap *h, uintptr_t addr, size_t size);

void *ff_alloc(struct ff_heap *h, size_t size, size_t align)
{
	struct ff_hole *prev = &h->first;

	size = hole_size(size);
	for (; prev->next != NULL; prev = prev->next, h->steps++) {
		struct ff_hole *cur = prev->next;
		uintptr_t addr;
		size_t front, back;

		if (!split_hole(cur, size, align, &addr, &front, &back))
			continue;
		prev->next = cur->next;         /* unlink the hole; the */
		if (front)                      /* padding goes back as */
			hole_return(h, (uintptr_t)cur, front);  /* a free */
		if (back)
			hole_return(h, addr + size, back);
		return (void *)addr;
	}
	return NULL;
}

void ff_free(struct ff_heap *h, void *ptr, size_t size)
{
	hole_return(h, (uintptr_t)ptr, hole_size(size));
}

/* deallocate(): walk from the lowest hole to addr, link, merge. */
static void hole_return(struct ff_heap *h, uintptr_t addr, size_t size)
{
	void *ptr = (void *)addr;
	struct ff_hole *hole = &h->first;

	for (;;) {
		uintptr_t hole_addr = hole->size == 0 ? 0 : (uintptr_t)hole;
		struct ff_hole *next = hole->next;

		if (hole_addr + hole->size > addr) {
			fprintf(stderr, "ff_free: invalid deallocation "
				"(probably a double free) of %p\n", ptr);
			abort();               /* Rust's assert! */
		}
		if (next && hole_addr + hole->size == addr &&
		    addr + size == (uintptr_t)next) {
			hole->size += size + next->size;  /* fills the gap */
			hole->next = next->next;
		} else if (hole_addr + hole->size == addr) {
			hole->size += size;    /* right behind this hole */
		} else if (next && addr + size == (uintptr_t)next) {
			hole->next = next->next;          /* right before the */
			size += next->size;               /* next: take it in */
			continue;                         /* and go on */
		} else if (next && (uintptr_t)next <= addr) {
			hole = next;                      /* further on */
			h->steps++;
			continue;
		} else {
			hole->next = hole_at(addr, size, next);  /* between */
		}
		return;
	}
}

void ff_extend(struct ff_heap *h, size_t by)
{
	ff_free(h, (void *)(h->bottom + h->size), by);
	h->size += by;
}

size_t ff_holes(const struct ff_heap *h)
{
	size_t n = 0;

	for (const struct ff_hole *p = h->first.next; p; p = p->next)
		n++;
	return n;
}

/* ---- Redox's wrapper ---- */

void redox_init(struct redox_heap *r, uintptr_t base, uintptr_t limit,
		void (*map)(uintptr_t start, size_t length))
{
	r->base = base;
	r->limit = limit;
	r->grows = 0;
	r->map = map;
	map(base, REDOX_HEAP_STEP);
	ff_init(&r->heap, base, REDOX_HEAP_STEP);
}

/* Allocator::alloc(): on failure, map 1 MiB more at the top, extend,
 * retry. (Redox takes and drops its lock three times on this path;
 * with one thread that changes nothing.) */
void *redox_alloc(struct redox_heap *r, size_t size, size_t align)
{
	for (;;) {
		void *p = ff_alloc(&r->heap, size, align);
		uintptr_t top = r->heap.bottom + r->heap.size;

		if (p != NULL)
			return p;
		if (top + REDOX_HEAP_STEP > r->limit)
			return NULL;  /* Redox would panic in map_heap */
		r->map(top, REDOX_HEAP_STEP);
		ff_extend(&r->heap, REDOX_HEAP_STEP);
		r->grows++;
	}
}

void redox_free(struct redox_heap *r, void *ptr, size_t size)
{
	ff_free(&r->heap, ptr, size);
}
