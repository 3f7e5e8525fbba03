/* console.h: kernel output to every console at once. */
#ifndef CONSOLE_H
#define CONSOLE_H

void console_init(void);
void console_putc(char c);

#endif
