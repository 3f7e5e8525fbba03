/*
 * console.c: the kernel's one output path. Each character goes to the
 * serial port and to the VGA screen; kprintf formats into it.
 */
#include "console.h"
#include "kprintf.h"
#include "serial.h"
#include "vga.h"
#include <stdarg.h>

void console_init(void)
{
	serial_init();
	vga_init();
}

void console_putc(char c)
{
	serial_putc(c);
	vga_putc(c);
}

static void console_put(char c, void *unused)
{
	(void)unused;
	console_putc(c);
}

/* printf for the kernel; format.c documents the conversions. */
int kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvformat(console_put, 0, fmt, ap);
	va_end(ap);
	return n;
}

int kvprintf(const char *fmt, va_list ap)
{
	return kvformat(console_put, 0, fmt, ap);
}
