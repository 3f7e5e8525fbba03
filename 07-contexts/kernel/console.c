/*
 * console.c: the kernel's one output path. Each character goes to the
 * serial port and to the VGA screen; kprintf formats into it, a whole
 * line at a time, so that two CPUs never mix their lines.
 */
#include "console.h"
#include "intr.h"
#include "kprintf.h"
#include "percpu.h"
#include "serial.h"
#include "spinlock.h"
#include "vga.h"
#include "x86.h"
#include <stdarg.h>

/**
 * ## One line at a time
 *
 * With one CPU, kprintf() could send each character out as soon as it
 * was formatted. With several, two CPUs printing at once would mix
 * their characters, `CPU 1: heCPU 2: hello\nllo\n`, and the serial log
 * the tests read would be nonsense. A lock around each kprintf() call
 * is not enough either: a line is often printed by several calls
 * (`kprintf("a"); kprintf("b\n");`), and another CPU's line could
 * slip in between them.
 *
 * So each CPU collects what it prints in its own line buffer,
 * `line[]` in its `struct cpu`, and sends a line out only when it is
 * complete (at its `\n`), under the *console lock*: a line is always
 * printed whole, and the serial port and the VGA screen, whose cursor
 * and scrolling are shared state, are written by one CPU at a time. A
 * line longer than the buffer (CONSOLE_LINE, 160 bytes) goes out in
 * pieces of that size. Interrupts stay off while kprintf() formats, so
 * a handler on the same CPU cannot print into the middle of a call; it
 * can still print between two calls that make one line, and its text
 * then joins that line.
 *
 * The console lock is a *leaf* in the lock order: code holding any
 * lock may print, and the console takes no other lock.
 *
 * Before the boot CPU has its `struct cpu` (the first lines of kmain,
 * before percpu_install()), there is one CPU and no buffer to use: the
 * characters go straight out, as in chapter 05.
 *
 * ## A panic prints even when the lock is taken
 *
 * A panic must get its report out whatever state the kernel is in,
 * and the state may be that another CPU holds the console lock, and
 * will never let go (it was stopped in the middle of a line, or it is
 * the very CPU that broke). So `console_panic()`, called by the CPU
 * that panics once it has stopped the others (panic.c), makes that
 * CPU the console's *owner*: from then on its characters go straight
 * out, without the lock, starting with what its own buffer held, and
 * every other CPU's are dropped.
 */
struct spinlock console_lock = SPINLOCK_INIT("console");
static volatile int owner = -1;    /* the panicking CPU, or -1 */

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

/* Send this CPU's line out whole, under the lock; or straight out if
 * this CPU owns the console; or not at all if another CPU does. */
static void line_flush(struct cpu *c)
{
	int who = owner;

	if (who < 0) {
		spin_lock(&console_lock);
		for (unsigned i = 0; i < c->line_len; i++)
			console_putc(c->line[i]);
		spin_unlock(&console_lock);
	} else if (who == (int)c->index) {
		for (unsigned i = 0; i < c->line_len; i++)
			console_putc(c->line[i]);
	}
	c->line_len = 0;
}

static void line_put(char ch, void *arg)
{
	struct cpu *c = arg;

	c->line[c->line_len++] = ch;
	if (ch == '\n' || c->line_len == CONSOLE_LINE)
		line_flush(c);
}

/* printf for the kernel; format.c documents the conversions. */
int kvprintf(const char *fmt, va_list ap)
{
	bool was_on = intr_enabled();
	struct cpu *c;
	int n;

	if (!percpu_ready)
		return kvformat(console_put, 0, fmt, ap);
	cli();
	c = this_cpu();
	n = kvformat(line_put, c, fmt, ap);
	if (owner == (int)c->index && c->line_len > 0)
		line_flush(c);        /* a panic's report: no waiting */
	if (was_on)
		sti();
	return n;
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvprintf(fmt, ap);
	va_end(ap);
	return n;
}

/* Precondition: interrupts off; panic.c has stopped the other CPUs. */
void console_panic(void)
{
	struct cpu *c;

	if (!percpu_ready)
		return;
	c = this_cpu();
	owner = (int)c->index;
	line_flush(c);                /* what this CPU had begun */
}
