/*
 * recycle.h: a C re-creation of the frame allocator of Redox 0.3.5,
 * for the benchmark only (it uses the host's malloc). The "recycle"
 * allocator keeps freed runs in a growable array and sits on top of a
 * bump allocator, as Redox's src/memory/recycle.rs and bump.rs do.
 * bench_frame.c compares it with kernel/frame.c.
 */
#ifndef RECYCLE_H
#define RECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECYCLE_FRAME 4096ull

/* A run of free frames: Redox's (address, count) tuple. */
struct recycle_run {
	uint64_t base;   /* physical address of the first frame */
	uint64_t count;  /* frames */
};

/* The inner allocator, reduced to what the benchmark reaches: one
 * usable area, handed out upward, never taken back. */
struct bump {
	uint64_t next;   /* next frame never handed out */
	uint64_t end;    /* end of the area */
	uint64_t used;   /* frames handed out */
};

struct recycle {
	struct bump inner;
	bool noncore;               /* false: frees go to inner (lost) */
	struct recycle_run *runs;   /* Redox's Vec<(usize, usize)> */
	size_t len, cap;
};

void recycle_init(struct recycle *r, uint64_t base, uint64_t end);
void recycle_destroy(struct recycle *r);

/* Redox's init_noncore(): from now on, frees are kept. */
void recycle_set_noncore(struct recycle *r, bool noncore);

/* 0 and *phys set, or -1 when neither the runs nor the bump area have
 * count frames. */
int recycle_alloc(struct recycle *r, uint64_t count, uint64_t *phys);
void recycle_free(struct recycle *r, uint64_t phys, uint64_t count);

/* Sums every run, as Redox does: O(runs). */
uint64_t recycle_free_count(const struct recycle *r);

/* Append a run without looking for neighbours (benchmark set-up). */
void recycle_push_run(struct recycle *r, uint64_t base, uint64_t count);

#endif /* RECYCLE_H */
