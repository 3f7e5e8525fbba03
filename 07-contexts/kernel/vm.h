/* vm.h: the kernel's own address space. */
#ifndef VM_H
#define VM_H

#include "bootinfo.h"
#include <stdint.h>

/* Physical address of the kernel's PML4, once vm_init has run. */
extern uint64_t kernel_pml4;

void vm_init(const struct boot_info *bi);

/* Name an area of the kernel half (for reports and the layout). flags:
 * its pages' flags if it lies in the direct map (0: not mapped there),
 * else ignored. At most a dozen areas; boot CPU only. */
void vm_region_add(const char *name, uint64_t va, uint64_t end,
		   uint64_t flags);
/* The name of the area holding va: "kernel text", "direct map of RAM",
 * ...; NULL if va is in none. */
const char *vm_region_name(uint64_t va);
void vm_print_layout(void);
uint64_t vm_table_frames(void);

#endif
