/*
 * pic.c: the two 8259A programmable interrupt controllers of the PC.
 * We move their vectors out of the way of the CPU's exceptions and mask
 * every line: this kernel will take its interrupts from the APIC.
 */
#include "pic.h"
#include "x86.h"

/**
 * ## The legacy PIC, and why we silence it
 *
 * The PC has two 8259A interrupt controllers, a master (ports 0x20,
 * 0x21) and a slave (0xA0, 0xA1) wired to the master's IRQ 2. At power-on
 * the BIOS leaves the master delivering IRQ 0-7 on vectors 8-15, which
 * are the CPU's own exception vectors: a timer tick would look like a
 * double fault. So even a kernel that never uses the PIC must move it.
 *
 * Initialisation is a fixed dialogue of four "initialisation command
 * words" per chip:
 *
 * 1. ICW1 = 0x11: start initialisation, an ICW4 will follow.
 * 2. ICW2: the first vector, 0x20 for the master, 0x28 for the slave.
 * 3. ICW3: the wiring. The master has a slave on line 2 (bit mask 0x04);
 *    the slave's cascade identity is 2.
 * 4. ICW4 = 0x01: 8086 mode.
 *
 * Then OCW1, the mask register, gets 0xFF on both chips: every line is
 * masked. Redox 0.3.5 unmasks every line and forwards most of them to
 * user-space drivers. We want no interrupt we are not ready for, and
 * chapter 06 takes interrupts from the local APIC instead.
 *
 * A masked PIC can still deliver a *spurious* interrupt: a line was
 * raised and dropped before the PIC could tell which, and it reports IRQ
 * 7 (or 15 on the slave) without meaning it. The handler detects that by
 * reading the In-Service Register: a real IRQ 7 has its ISR bit set.
 * A spurious one must not be acknowledged, except that a spurious IRQ 15
 * still needs an end-of-interrupt at the master, which did see a real
 * cascade interrupt.
 */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define ICW1_INIT_ICW4 0x11
#define ICW3_MASTER_SLAVE_ON_2 0x04
#define ICW3_SLAVE_ID 0x02
#define ICW4_8086 0x01
#define OCW3_READ_ISR 0x0B
#define PIC_EOI 0x20

/* Precondition: interrupts off. */
void pic_init(void)
{
	outb(PIC1_CMD, ICW1_INIT_ICW4);                 /* 1. */
	outb(PIC2_CMD, ICW1_INIT_ICW4);
	outb(PIC1_DATA, PIC_VECTOR_BASE);               /* 2. */
	outb(PIC2_DATA, PIC_VECTOR_BASE + 8);
	outb(PIC1_DATA, ICW3_MASTER_SLAVE_ON_2);        /* 3. */
	outb(PIC2_DATA, ICW3_SLAVE_ID);
	outb(PIC1_DATA, ICW4_8086);                     /* 4. */
	outb(PIC2_DATA, ICW4_8086);
	outb(PIC1_DATA, 0xFF);                          /* mask all */
	outb(PIC2_DATA, 0xFF);
}

/* For IRQ 7 or 15: true if the interrupt was spurious. Sends the EOI
 * the master needs for a spurious IRQ 15. Other IRQs are never
 * spurious in this sense, and cannot arrive while all are masked. */
bool pic_irq_is_spurious(int irq)
{
	uint16_t cmd = irq < 8 ? PIC1_CMD : PIC2_CMD;

	if (irq != 7 && irq != 15)
		return false;
	outb(cmd, OCW3_READ_ISR);
	if (inb(cmd) & (1 << (irq & 7)))
		return false;
	if (irq == 15)
		outb(PIC1_CMD, PIC_EOI);
	return true;
}
