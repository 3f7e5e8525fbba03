/*
 * serial.c: a polled driver for the 16550 UART behind COM1.
 *
 * Everything the kernel prints goes here first. In QEMU, `-serial stdio`
 * connects COM1 to the terminal, and the tests read the same bytes from
 * a log file. A serial port needs no memory mapping, no interrupts and
 * no driver state, so it works from the kernel's first instruction until
 * its last, even inside a panic.
 */
#include "serial.h"
#include "x86.h"

/**
 * ## The 16550 UART
 *
 * COM1's registers are eight I/O ports starting at 0x3F8. Several share
 * a port: with the Divisor Latch Access Bit (DLAB, bit 7 of the Line
 * Control Register) set, ports +0 and +1 hold the baud-rate divisor
 * instead of the data and interrupt-enable registers. The UART divides
 * 115200 by the divisor, so divisor 1 gives 115200 baud.
 *
 * Initialisation, step by step:
 *
 * 1. Interrupt Enable Register = 0: we poll, we want no interrupts.
 * 2. LCR = DLAB, then divisor 1 (low byte, high byte).
 * 3. LCR = 8 data bits, no parity, 1 stop bit ("8N1"), DLAB off.
 * 4. FIFO Control Register: enable the FIFOs and clear both.
 * 5. Modem Control Register: loopback mode, send a test byte and read
 *    it back. If it does not come back there is no UART here, and we
 *    say so rather than wait forever for a transmitter that never
 *    empties.
 * 6. MCR = DTR | RTS | OUT2: normal operation.
 */
#define COM1 0x3F8
#define UART_DATA 0           /* RBR (read) / THR (write); DLL if DLAB */
#define UART_IER 1            /* interrupt enable; DLM if DLAB */
#define UART_FCR 2            /* FIFO control (write) */
#define UART_LCR 3            /* line control */
#define UART_MCR 4            /* modem control */
#define UART_LSR 5            /* line status */
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define FCR_ENABLE_CLEAR 0x07 /* enable, clear receive and transmit */
#define MCR_DTR_RTS_OUT2 0x0B
#define MCR_LOOPBACK 0x1E     /* loopback with RTS, OUT1, OUT2 */
#define LSR_THRE 0x20         /* transmit holding register empty */
#define LSR_DATA_READY 0x01

static bool serial_present;

/* Returns false, and leaves the port unused, if no UART answers. */
bool serial_init(void)
{
	outb(COM1 + UART_IER, 0);                  /* 1. */
	outb(COM1 + UART_LCR, LCR_DLAB);           /* 2. */
	outb(COM1 + UART_DATA, 1);
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_8N1);            /* 3. */
	outb(COM1 + UART_FCR, FCR_ENABLE_CLEAR);   /* 4. */
	outb(COM1 + UART_MCR, MCR_LOOPBACK);       /* 5. */
	outb(COM1 + UART_DATA, 0xAE);
	for (int i = 0; i < 1000; i++) {
		if (inb(COM1 + UART_LSR) & LSR_DATA_READY)
			break;
	}
	serial_present = inb(COM1 + UART_DATA) == 0xAE;
	outb(COM1 + UART_MCR, MCR_DTR_RTS_OUT2);   /* 6. */
	return serial_present;
}

/* Send one byte, waiting until the transmitter can take it. A '\n'
 * becomes "\r\n", which is what a terminal needs to start a new line. */
void serial_putc(char c)
{
	if (!serial_present)
		return;
	if (c == '\n')
		serial_putc('\r');
	while (!(inb(COM1 + UART_LSR) & LSR_THRE))
		cpu_relax();
	outb(COM1 + UART_DATA, (uint8_t)c);
}
