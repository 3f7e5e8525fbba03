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

#endif
