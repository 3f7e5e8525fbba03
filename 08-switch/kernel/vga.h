/* vga.h: the VGA text screen, a mirror of the serial output. */
#ifndef VGA_H
#define VGA_H

void vga_init(void);
void vga_putc(char c);

#include <stdint.h>
/* Chapter 08: rows 0 .. n - 1 for a picture; one cell of it. */
void vga_reserve_top(int n);
void vga_cell(int row, int col, char ch, uint8_t attr);

#endif
