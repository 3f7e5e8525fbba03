/*
 * boot_alloc.h: memory the kernel allocates once, at boot, and keeps
 * for good: the ACPI code's lists, the CPUs' structs.
 */
#ifndef BOOT_ALLOC_H
#define BOOT_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* size bytes, zeroed, at a multiple of align (a power of two up to
 * 4096); panics when memory runs out, which at boot means the machine
 * is far too small. Never freed. Boot CPU only (no lock). */
void *boot_alloc(size_t size, size_t align);

/* The runs of frames boot_alloc() took, for the frame allocator's
 * self-test: run i (0 <= i < boot_alloc_runs()) in *phys, *count. */
unsigned boot_alloc_runs(void);
void boot_alloc_run(unsigned i, uint64_t *phys, uint64_t *count);

#endif /* BOOT_ALLOC_H */
