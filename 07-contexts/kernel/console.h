/* console.h: kernel output to every console at once. */
#ifndef CONSOLE_H
#define CONSOLE_H

#include "spinlock.h"

void console_init(void);
void console_putc(char c);

/* The CPU that panics takes the console over: its lines go out
 * without the lock, the other CPUs' are dropped (console.c). */
void console_panic(void);

/* The lock each line is printed under. Only the tests touch it (to
 * show that a panic prints without it). */
extern struct spinlock console_lock;

#endif
