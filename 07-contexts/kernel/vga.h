/* vga.h: the VGA text screen, a mirror of the serial output. */
#ifndef VGA_H
#define VGA_H

void vga_init(void);
void vga_putc(char c);

#endif
