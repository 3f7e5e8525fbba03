/*
 * tlb.h: making every CPU forget a page: TLB shootdown. tlb.c explains
 * it.
 */
#ifndef TLB_H
#define TLB_H

#include <stdint.h>

/* Every online CPU, this one included, drops its TLB entry for va;
 * returns when all have. From any CPU, with interrupts on or off
 * (they are off while it waits). paging.h declares it too: the mapper
 * calls it after an unmap or a change of flags. */
void tlb_shootdown_page(uint64_t va);

/* The same for the `pages` pages from va on (page_unmap_run()): one
 * request to the other CPUs for all of them. */
void tlb_shootdown_range(uint64_t va, unsigned pages);

/* Do every flush another CPU has asked of this one. Called by the
 * shootdown interrupt, and by every loop that waits with interrupts
 * off (spinlock.c, the shootdown's own wait, smp.c's), so that two
 * CPUs that wait for each other cannot deadlock. Interrupts off. */
void tlb_answer(void);

/* The boot CPU, once, before the other CPUs start: install the
 * interrupt handler. */
void tlb_setup(void);

#endif /* TLB_H */
