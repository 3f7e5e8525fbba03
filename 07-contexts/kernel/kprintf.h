/*
 * kprintf.h: printf-style formatting for the kernel.
 *
 * format.c holds the formatting core: kvformat() and the buffer
 * printers ksnprintf()/kvsnprintf(). It is pure logic, so the host
 * tests compile it too. kprintf() itself, which sends the characters to
 * the console, is defined elsewhere in the kernel.
 */

#ifndef KPRINTF_H
#define KPRINTF_H

#include <stdarg.h>
#include <stddef.h>

/* Where formatted characters go: called once per character, with the
 * arg that was given to kvformat(). */
typedef void (*putc_fn)(char c, void *arg);

/*
 * Format fmt with the arguments in ap, passing each resulting character
 * to put(c, arg). Returns the number of characters emitted.
 * Supported: %d %i %u %x %X (with l, ll or z), %c %s %p %%,
 * flags '-' and '0', a width, and a precision ('.', digits or '*').
 * Anything else is printed as written. Details in format.c.
 */
int kvformat(putc_fn put, void *arg, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/*
 * Format into buf, writing at most size bytes including the final NUL.
 * When size > 0 the result is always NUL-terminated, cut short if
 * need be. Returns the length the whole result has, even when cut
 * short, as C99's snprintf does; so the output was cut iff the return
 * value is >= size. buf may be NULL when size is 0.
 */
int ksnprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Print to the kernel console. Defined by the kernel, not format.c. */
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif /* KPRINTF_H */
