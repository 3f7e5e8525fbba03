/*
 * panic_hook.h: host tests of code that stops the kernel when it is
 * misused (frame_panic(), panic()). The test's own version of that
 * function formats the message and calls panic_hook(), which jumps
 * back into the case that expected it, or fails the case that did not.
 */
#ifndef PANIC_HOOK_H
#define PANIC_HOOK_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "check.h"

static jmp_buf panic_jump;
static bool panic_expected;
static char panic_message[256];

static _Noreturn __attribute__((format(printf, 1, 0)))
void panic_hook(const char *fmt, va_list ap)
{
	vsnprintf(panic_message, sizeof panic_message, fmt, ap);
	if (!panic_expected) {
		check_fail(__FILE__, __LINE__, "unexpected panic: %s",
			   panic_message);
		check_abandon();
	}
	panic_expected = false;
	longjmp(panic_jump, 1);
}

/* Run stmt, which must panic with exactly the message built from the
 * printf-style arguments. */
#define EXPECT_PANIC(stmt, ...)                                          \
	do {                                                             \
		char want_[256];                                         \
		snprintf(want_, sizeof want_, __VA_ARGS__);              \
		panic_message[0] = '\0';                                 \
		panic_expected = true;                                   \
		if (setjmp(panic_jump) == 0) {                           \
			stmt;                                            \
			panic_expected = false;                          \
			CHECKF(0, "no panic, want \"%s\"", want_);       \
		} else {                                                 \
			CHECKF(strcmp(panic_message, want_) == 0,        \
			       "panic \"%s\", want \"%s\"",              \
			       panic_message, want_);                    \
		}                                                        \
	} while (0)

#endif
