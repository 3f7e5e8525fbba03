/* gdt.h: segment descriptors and the task-state segment, per CPU. */
#ifndef GDT_H
#define GDT_H

#include <stdint.h>

/* Selectors: index * 8, plus the requested privilege level (RPL). */
#define SEL_KERNEL_CODE 0x08
#define SEL_KERNEL_DATA 0x10
#define SEL_USER_DATA (0x18 | 3)
#define SEL_USER_CODE (0x20 | 3)
#define SEL_TSS 0x28

/* Interrupt stack table slots (1-7; 0 means "no IST"). */
#define IST_DOUBLE_FAULT 1
#define IST_NMI 2
#define IST_MACHINE_CHECK 3
#define IST_COUNT 3
#define IST_PAGES 4                   /* 16 KiB per IST stack */

/* The 64-bit task-state segment (Intel SDM vol. 3, "Task Management in
 * 64-bit Mode"): stack pointers only; no tasks are switched. */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];                 /* stack for a switch to ring 0-2 */
	uint64_t reserved1;
	uint64_t ist[7];                 /* IST1..IST7 */
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;             /* offset of the I/O bitmap */
} __attribute__((packed));

#define GDT_ENTRIES 7                /* 5 descriptors + a 16-byte TSS */

struct cpu_tables {
	uint64_t gdt[GDT_ENTRIES];
	struct tss tss;
	uint64_t ist_bottom[IST_COUNT + 1]; /* for reports: is RSP on IST n? */
	uint64_t ist_top[IST_COUNT + 1];
};

/* The operand of lgdt/lidt (and sgdt/sidt): the table's size minus one,
 * then its linear address. */
struct table_register {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern struct cpu_tables cpu0_tables;

/* The descriptors, loaded at once: needs nothing but the table itself. */
void gdt_init(struct cpu_tables *t);
/* The TSS and its interrupt stacks: needs frames and the kernel's page
 * tables (chapter 02), so it comes later. */
void tss_init(struct cpu_tables *t);
int ist_of_stack(const struct cpu_tables *t, uint64_t rsp);

/* Another CPU's tables (chapter 06): the boot CPU builds them, stacks
 * and all, before the CPU starts (0, or -1 when frames ran out), and
 * the CPU loads them itself, first thing (gdt.c, "Every CPU its own
 * tables"). */
int cpu_tables_build(struct cpu_tables *t, unsigned cpu);
void cpu_tables_load(struct cpu_tables *t);

/* gdt_load.asm: lgdt, reload CS with a far return, reload the data
 * segment registers. */
void gdt_load(const void *gdtr, uint16_t code, uint16_t data);

#endif
