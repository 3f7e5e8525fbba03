/*
 * test_vga.c: host unit tests for kernel/vga.c, the text console.
 *
 * The screen is an array here, exactly 80 x 25 cells, so that
 * AddressSanitizer stops a case that writes one cell past it; the CRT
 * controller's ports are a little model that records the cursor.
 */
#include <stdint.h>
#include <stdio.h>

#include "check.h"

#define X86_H                   /* no port I/O on the host: a model */
static uint8_t crtc_index;
static uint16_t cursor;

static void outb(uint16_t port, uint8_t v)
{
	if (port == 0x3D4)
		crtc_index = v;
	else if (port == 0x3D5 && crtc_index == 0x0E)
		cursor = (uint16_t)(cursor & 0xFF) | (uint16_t)(v << 8);
	else if (port == 0x3D5 && crtc_index == 0x0F)
		cursor = (uint16_t)(cursor & 0xFF00) | v;
}

static uint16_t screen[80 * 25];
static volatile uint16_t *const vga_mem = screen;

#include "../../kernel/vga.c"

static char cell(int r, int c)
{
	return (char)(screen[r * VGA_COLS + c] & 0xFF);
}

static void puts_vga(const char *s)
{
	while (*s)
		vga_putc(*s++);
}

static void clears_and_homes_cursor(void)
{
	screen[5] = 'x';
	vga_init();
	CHECK(cell(0, 5) == ' ' && screen[5] >> 8 == VGA_GREY);
	CHECK(cursor == 0);
}

/* Write lines 1..30: the screen then shows lines 7..30 and the empty
 * line the last newline opened, with the cursor at its start. */
static void scrolls_at_the_bottom(void)
{
	char line[16];

	vga_init();
	for (int i = 1; i <= 30; i++) {
		snprintf(line, sizeof line, "%02d\n", i);
		puts_vga(line);
	}
	CHECKF(cell(0, 0) == '0' && cell(0, 1) == '7', "top row '%c%c'",
	       cell(0, 0), cell(0, 1));
	CHECKF(cell(23, 0) == '3' && cell(23, 1) == '0', "row 23 '%c%c'",
	       cell(23, 0), cell(23, 1));
	CHECK(cell(24, 0) == ' ');
	CHECK(cursor == 24 * VGA_COLS);
}

/* An 85-character line fills row 0 and goes on in row 1. */
static void long_lines_wrap(void)
{
	vga_init();
	for (int i = 0; i < 85; i++)
		vga_putc((char)('a' + i % 26));
	CHECK(cell(0, 79) == (char)('a' + 79 % 26));
	CHECK(cell(1, 0) == (char)('a' + 80 % 26));
	CHECK(cursor == VGA_COLS + 5);
}

/* Should the row ever be past the bottom (a bug elsewhere, a stray
 * write), the next character must scroll, not write below the screen.
 * A test for `row == VGA_ROWS` misses row 26 and writes out of the
 * array, which ASan reports. */
static void never_writes_below_the_screen(void)
{
	vga_init();
	row = VGA_ROWS;
	vga_putc('\n');
	vga_putc('z');
	CHECK(row == VGA_ROWS - 1);
	CHECK(cell(VGA_ROWS - 1, 0) == 'z');
}

int main(void)
{
	RUN(clears_and_homes_cursor);
	RUN(scrolls_at_the_bottom);
	RUN(long_lines_wrap);
	RUN(never_writes_below_the_screen);
	return check_done("test_vga");
}
