/*
 * idt.c: fills the Interrupt Descriptor Table with a gate for every
 * exception and every (remapped) PIC line, and loads it.
 */
#include "idt.h"
#include "gdt.h"
#include "kprintf.h"
#include <stdint.h>

/**
 * ## The interrupt descriptor table
 *
 * When an exception or interrupt with vector *n* arrives, the CPU reads
 * entry *n* of the IDT, a 16-byte *gate*, and jumps to the handler it
 * names. Each gate holds:
 *
 * - the handler's address, split into bits 0-15, 16-31 and 32-63;
 * - the code selector to load into CS (our kernel code, 0x08);
 * - an IST index: if it is not 0, the CPU switches to that interrupt
 *   stack from the TSS before pushing anything;
 * - a type, 0xE "interrupt gate", which clears IF on entry so handlers
 *   start with interrupts off;
 * - a DPL: the lowest privilege allowed to raise the vector with an
 *   `int n` instruction (hardware exceptions ignore it);
 * - the present bit.
 *
 * The handlers are the stubs in `isr.asm`, one per vector, which
 * `isr_stubs` lists in vector order. Vectors 0-31 are the CPU's
 * exceptions, 0x20-0x2F the PIC's lines, 0xEF-0xFF the local APIC's
 * (lapic.c); every other vector has a gate too, so that an unexpected
 * one is reported by its number. The breakpoint gate (#BP, 3)
 * has DPL 3, so that a debugger can later put `int3` in user code. The
 * double fault, NMI and machine check gates use IST stacks, because
 * they may strike when the current stack cannot be trusted.
 *
 * The table is filled and loaded at the very start of kmain, so that a
 * fault anywhere in the rest of the boot gets a report. At that point
 * there is no TSS yet, and a gate that names an IST stack would send
 * the CPU looking for one: so every gate starts without, and
 * `idt_use_ist()` switches the three over once `tss_init()` has run.
 *
 * Redox 0.3.5 has one global IDT, which every CPU fills again, and no
 * IST. The table here is global too, since all CPUs handle vectors the
 * same way; only the GDT and TSS are per CPU.
 */
#define IDT_VECTORS 256
#define GATE_INTERRUPT 0xE
#define GATE_PRESENT 0x80

struct gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;      /* P, DPL (2 bits), 0, type (4 bits) */
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct gate) == 16, "a gate is 16 bytes");

static struct gate idt[256];
extern const uint64_t isr_stubs[IDT_VECTORS];    /* isr.asm */

static void gate_set(int vector, uint64_t handler, int ist, int dpl)
{
	struct gate *g = &idt[vector];

	g->offset_low = (uint16_t)handler;
	g->offset_mid = (uint16_t)(handler >> 16);
	g->offset_high = (uint32_t)(handler >> 32);
	g->selector = SEL_KERNEL_CODE;
	g->ist = (uint8_t)ist;
	g->type_attr = GATE_PRESENT | (uint8_t)(dpl << 5) | GATE_INTERRUPT;
	g->reserved = 0;
}

/* Precondition: interrupts off; gdt_init has run (the code selector). */
void idt_init(void)
{
	for (int v = 0; v < IDT_VECTORS; v++)
		gate_set(v, isr_stubs[v], 0, 0);
	gate_set(3, isr_stubs[3], 0, 3);                   /* #BP */
	idt_load();
	kprintf("IDT: %d gates: exceptions 0-31, PIC 0x20-0x2F (all masked), "
		"local APIC 0xEF-0xFF\n", IDT_VECTORS);
}

/* Precondition: interrupts off; tss_init has run (the IST stacks). */
void idt_use_ist(void)
{
	gate_set(2, isr_stubs[2], IST_NMI, 0);             /* NMI */
	gate_set(8, isr_stubs[8], IST_DOUBLE_FAULT, 0);    /* #DF */
	gate_set(18, isr_stubs[18], IST_MACHINE_CHECK, 0); /* #MC */
}

/* lidt takes the table's size minus one and its address. The gates
 * from 48 to 0xEF are all zero: type 0 is no valid 64-bit gate, so
 * raising one of those vectors gives a #GP whose error code names it.
 * (A valid gate with P = 0 would give #NP, vector 11, instead.) */
void idt_load(void)
{
	struct table_register idtr = { sizeof idt - 1, (uint64_t)idt };

	__asm__ volatile("lidt %0" : : "m"(idtr));
}
