/*
 * pic.c: the two 8259A programmable interrupt controllers of the PC.
 * We move their vectors out of the way of the CPU's exceptions and mask
 * every line: this kernel will take its interrupts from the APIC.
 */
#include "pic.h"
#include "kprintf.h"
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
 * An original 8259A needs a moment between two of these writes, longer
 * than a fast CPU leaves between two `out` instructions, so each write
 * is followed by `io_wait()` (x86.h), a write to the unused port 0x80.
 * QEMU does not care; old hardware does.
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
 *
 * The self-tests check both sides with the real chips. The *poll*
 * command (OCW3 with bit 2) makes the PIC acknowledge its highest
 * request on the next read, exactly as when the CPU takes the
 * interrupt: the IRQ's in-service bit goes on. With a real request on
 * IRQ 7 (from the parallel port) that gives a real, in-service IRQ 7;
 * with one on the slave (the clock, IRQ 8), polling only the master
 * gives the state of a spurious IRQ 15: the master's cascade line in
 * service, nothing in service at the slave.
 */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define ICW1_INIT_ICW4 0x11
#define ICW3_MASTER_SLAVE_ON_2 0x04
#define ICW3_SLAVE_ID 0x02
#define ICW4_8086 0x01
#define OCW3_READ_IRR 0x0A
#define OCW3_READ_ISR 0x0B
#define OCW3_POLL 0x0C
#define PIC_EOI 0x20

/* Write an initialisation word, then give the chip its moment. */
static void icw(uint16_t port, uint8_t word)
{
	outb(port, word);
	io_wait();
}

/* Precondition: interrupts off. */
void pic_init(void)
{
	icw(PIC1_CMD, ICW1_INIT_ICW4);                  /* 1. */
	icw(PIC2_CMD, ICW1_INIT_ICW4);
	icw(PIC1_DATA, PIC_VECTOR_BASE);                /* 2. */
	icw(PIC2_DATA, PIC_VECTOR_BASE + 8);
	icw(PIC1_DATA, ICW3_MASTER_SLAVE_ON_2);         /* 3. */
	icw(PIC2_DATA, ICW3_SLAVE_ID);
	icw(PIC1_DATA, ICW4_8086);                      /* 4. */
	icw(PIC2_DATA, ICW4_8086);
	pic_set_masks(0xFFFF);                          /* mask all */
	kprintf("PIC: IRQ 0-15 on vectors 0x%X-0x%X, every line masked\n",
		PIC_VECTOR_BASE, PIC_VECTOR_BASE + 15);
}

/* OCW3 read command: the register it selects, of both chips. */
static uint16_t read_both(uint8_t ocw3)
{
	outb(PIC1_CMD, ocw3);
	outb(PIC2_CMD, ocw3);
	return (uint16_t)(inb(PIC2_CMD) << 8 | inb(PIC1_CMD));
}

uint16_t pic_in_service(void)
{
	return read_both(OCW3_READ_ISR);
}

uint16_t pic_requested(void)
{
	return read_both(OCW3_READ_IRR);
}

void pic_set_masks(uint16_t masked)
{
	outb(PIC1_DATA, (uint8_t)masked);
	outb(PIC2_DATA, (uint8_t)(masked >> 8));
}

/* Acknowledge the chip's highest unmasked request, as an interrupt
 * would: returns its line (0-7 of that chip), or -1 if none is up. */
int pic_poll(bool slave)
{
	uint16_t cmd = slave ? PIC2_CMD : PIC1_CMD;
	uint8_t v;

	outb(cmd, OCW3_POLL);
	v = inb(cmd);
	return v & 0x80 ? v & 7 : -1;
}

/* End of interrupt for a real IRQ: the slave's need one at both. */
void pic_eoi(int irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
}

/* For IRQ 7 or 15: true if the interrupt was spurious. Sends the EOI
 * the master needs for a spurious IRQ 15. Other IRQs are never
 * spurious in this sense, and cannot arrive while all are masked. */
bool pic_irq_is_spurious(int irq)
{
	if (irq != 7 && irq != 15)
		return false;
	if (pic_in_service() & (1u << irq))
		return false;
	/* Spurious at the slave; but the master did take IRQ 2. */
	if (irq == 15)
		outb(PIC1_CMD, PIC_EOI);
	return true;
}
