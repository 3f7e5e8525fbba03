/* memmap.h: the machine's physical memory map, raw and sanitised. */
#ifndef MEMMAP_H
#define MEMMAP_H

#include "bootinfo.h"
#include "e820.h"

extern struct e820_entry memmap_raw[E820_MAX_ENTRIES];
extern int memmap_raw_count;
extern struct mem_range memmap[E820_MAX_OUT];
extern int memmap_count;

void memmap_init(const struct boot_info *bi);

#endif
