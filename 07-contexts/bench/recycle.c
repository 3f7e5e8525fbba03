/*
 * recycle.c: Redox 0.3.5's recycle allocator, re-created in C from its
 * behaviour (kernel/frame.c describes it), for bench_frame.c. The logic
 * is kept step for step, inefficiencies included: that is what is
 * measured.
 *
 * - Allocation scans *all* runs for the smallest one with at least
 *   count frames; on a tie the later run wins. It cuts the frames off
 *   the run's top and deletes the run when it is empty (deleting from
 *   the middle of the array moves every later run down by one, as
 *   Rust's Vec::remove does). No run fits: ask the bump allocator.
 * - Free, once noncore is set, scans from the start for the first run
 *   that ends where the block starts or starts where it ends, extends
 *   it, and then tries the same again with the enlarged run against
 *   all the others; if that succeeds too, the enlarged run's old slot
 *   is deleted. No neighbour: the block is appended as a new run.
 *   Before noncore is set, the block goes to the bump allocator, which
 *   drops it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recycle.h"

/* ---- The growable array (Rust's Vec) ---- */

static void runs_push(struct recycle *r, struct recycle_run run)
{
	if (r->len == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 4;
		r->runs = realloc(r->runs, r->cap * sizeof *r->runs);
		if (r->runs == NULL) {
			perror("realloc");
			exit(2);
		}
	}
	r->runs[r->len++] = run;
}

static void runs_remove(struct recycle *r, size_t i)
{
	memmove(&r->runs[i], &r->runs[i + 1],
		(r->len - i - 1) * sizeof *r->runs);
	r->len--;
}

void recycle_push_run(struct recycle *r, uint64_t base, uint64_t count)
{
	runs_push(r, (struct recycle_run){ base, count });
}

/* ---- The bump allocator (one area) ---- */

static int bump_alloc(struct bump *b, uint64_t count, uint64_t *phys)
{
	if (count > (b->end - b->next) / RECYCLE_FRAME)
		return -1;
	*phys = b->next;
	b->next += count * RECYCLE_FRAME;
	b->used += count;
	return 0;
}

/* ---- The recycle allocator ---- */

void recycle_init(struct recycle *r, uint64_t base, uint64_t end)
{
	*r = (struct recycle){ .inner = { base, end, 0 } };
}

void recycle_destroy(struct recycle *r)
{
	free(r->runs);
	*r = (struct recycle){ 0 };
}

void recycle_set_noncore(struct recycle *r, bool noncore)
{
	r->noncore = noncore;
}

int recycle_alloc(struct recycle *r, uint64_t count, uint64_t *phys)
{
	size_t best = 0;
	bool found = false;

	for (size_t i = 0; i < r->len; i++)
		if (r->runs[i].count >= count &&
		    (!found || r->runs[i].count <= r->runs[best].count)) {
			best = i;
			found = true;
		}
	if (!found)
		return bump_alloc(&r->inner, count, phys);
	r->runs[best].count -= count;
	*phys = r->runs[best].base + r->runs[best].count * RECYCLE_FRAME;
	if (r->runs[best].count == 0)
		runs_remove(r, best);
	return 0;
}

/* Add [base, base + count frames) to the first run it touches, then
 * merge that run onward. Returns false if it touches none. */
static bool merge(struct recycle *r, uint64_t base, uint64_t count)
{
	for (size_t i = 0; i < r->len; i++) {
		struct recycle_run *run = &r->runs[i];

		if (base + count * RECYCLE_FRAME == run->base) {
			run->base = base;
			run->count += count;
		} else if (run->base + run->count * RECYCLE_FRAME == base) {
			run->count += count;
		} else {
			continue;
		}
		if (merge(r, run->base, run->count))
			runs_remove(r, i);
		return true;
	}
	return false;
}

void recycle_free(struct recycle *r, uint64_t phys, uint64_t count)
{
	if (!r->noncore)
		return;  /* the bump allocator's free does nothing */
	if (!merge(r, phys, count))
		runs_push(r, (struct recycle_run){ phys, count });
}

uint64_t recycle_free_count(const struct recycle *r)
{
	uint64_t n = (r->inner.end - r->inner.next) / RECYCLE_FRAME;

	for (size_t i = 0; i < r->len; i++)
		n += r->runs[i].count;
	return n;
}
