/*
 * vga.c: the 80x25 VGA text console.
 *
 * When QEMU has a window, this is what appears in it. It shows the same
 * text as the serial port, so a student with a display and one without
 * see the same boot.
 */
#include "vga.h"
#include "bootinfo.h"
#include "x86.h"
#include <stdint.h>

/**
 * ## VGA text mode
 *
 * The BIOS leaves the display in text mode 3: 80 columns by 25 rows,
 * stored at physical address 0xB8000 as 2 bytes per character, the
 * character code and then its colour attribute (0x07 is light grey on
 * black). Writing to that memory changes the screen at once. We reach
 * it through the kernel window, like all physical memory.
 *
 * The blinking cursor is separate: its position lives in the CRT
 * controller, written through an index port (0x3D4) and a data port
 * (0x3D5); registers 0x0E and 0x0F hold the high and low byte of the
 * cursor's cell number.
 */
#define VGA_PHYS 0xB8000
#define VGA_COLS 80
#define VGA_ROWS 25
#define VGA_GREY 0x07
#define CRTC_INDEX 0x3D4
#define CRTC_DATA 0x3D5
#define CRTC_CURSOR_HI 0x0E
#define CRTC_CURSOR_LO 0x0F

/* The host test (tests/host/test_vga.c) brings its own screen. */
#ifndef HOST_TEST
static volatile uint16_t *const vga_mem =
	(volatile uint16_t *)(KERNEL_WINDOW + VGA_PHYS);
#endif
static int row, col;        /* invariant: row < VGA_ROWS, col < VGA_COLS */

static void cursor_update(void)
{
	uint16_t pos = (uint16_t)(row * VGA_COLS + col);

	outb(CRTC_INDEX, CRTC_CURSOR_HI);
	outb(CRTC_DATA, (uint8_t)(pos >> 8));
	outb(CRTC_INDEX, CRTC_CURSOR_LO);
	outb(CRTC_DATA, (uint8_t)pos);
}

/* Move every row up by one and blank the last. */
static void scroll(void)
{
	for (int i = 0; i < (VGA_ROWS - 1) * VGA_COLS; i++)
		vga_mem[i] = vga_mem[i + VGA_COLS];
	for (int i = 0; i < VGA_COLS; i++)
		vga_mem[(VGA_ROWS - 1) * VGA_COLS + i] = VGA_GREY << 8 | ' ';
	row = VGA_ROWS - 1;
}

/* Clear the screen; the bootloader's messages are in the serial log. */
void vga_init(void)
{
	for (int i = 0; i < VGA_ROWS * VGA_COLS; i++)
		vga_mem[i] = VGA_GREY << 8 | ' ';
	row = col = 0;
	cursor_update();
}

void vga_putc(char c)
{
	if (c == '\n') {
		col = 0;
		row++;
	} else if (c == '\r') {
		col = 0;
	} else {
		vga_mem[row * VGA_COLS + col] = VGA_GREY << 8 | (uint8_t)c;
		if (++col == VGA_COLS) {
			col = 0;
			row++;
		}
	}
	if (row >= VGA_ROWS)       /* >=, not ==: never below the screen */
		scroll();
	cursor_update();
}
