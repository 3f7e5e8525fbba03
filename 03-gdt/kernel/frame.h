/* frame.h: physical page frames, handed out one run at a time. */
#ifndef FRAME_H
#define FRAME_H

#include "e820.h"
#include <stdint.h>

#define FRAME_SIZE 4096ull

void frame_init(const struct mem_range *map, int n);
int frame_alloc(uint64_t count, uint64_t *phys);
void frame_free(uint64_t phys, uint64_t count);
uint64_t frame_free_count(void);
uint64_t frame_used_count(void);

/* The kernel reaches a frame's contents through its direct map. */
void *pt_phys_to_virt(uint64_t phys);

#endif
