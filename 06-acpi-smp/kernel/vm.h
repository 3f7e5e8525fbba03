/* vm.h: the kernel's own address space. */
#ifndef VM_H
#define VM_H

#include "bootinfo.h"
#include <stdint.h>

/* Physical address of the kernel's PML4, once vm_init has run. */
extern uint64_t kernel_pml4;

void vm_init(const struct boot_info *bi);
void vm_print_layout(void);
uint64_t vm_table_frames(void);

#endif
