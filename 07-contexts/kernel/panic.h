/* panic.h: stopping the kernel, on purpose or because something broke. */
#ifndef PANIC_H
#define PANIC_H

#include <stdbool.h>

/* panic("bad thing %d", x) prints the file, line and message, then
 * stops the machine. It never returns. */
#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)

_Noreturn void panic_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
_Noreturn void halt_forever(void);
_Noreturn void qemu_exit(bool pass);

/* The start of every panic and exception report (panic.c): claim the
 * panic, stop the other CPUs by NMI, take the console over. Returns
 * how many CPUs stopped; does not return on a CPU that finds another
 * one panicking. Interrupts off. */
unsigned panic_begin(void);
bool panic_in_progress(void);

/* The NMI handler, when a panic is in progress: halt this CPU. */
_Noreturn void panic_stop_this_cpu(void);

#endif
