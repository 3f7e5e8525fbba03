/*
 * test_frame_setup.c: host unit tests for kernel/frame_setup.c, which
 * hands the memory map to the frame allocator at boot.
 *
 * frame_setup.c, frame.c, e820.c and format.c are included whole. The
 * test provides what the kernel would: the sanitised memory map (the
 * globals memmap.h declares), kprintf() into a buffer the cases read,
 * panic_at() that jumps back into the case, and pt_phys_to_virt() for
 * the one place frame.c writes to, its table.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "panic_hook.h"
#include "../../kernel/e820.c"
#include "../../kernel/format.c"
#include "../../kernel/frame.c"
#include "../../kernel/frame_setup.c"
#include "spinlock_host.h"

#define MiB (1ull << 20)

struct mem_range memmap[E820_MAX_OUT];
int memmap_count;

/* ---- The environment ---------------------------------------------- */

static char printed[4096];      /* everything kprintf printed */
static size_t printed_len;

int kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(printed + printed_len, sizeof printed - printed_len,
		       fmt, ap);
	va_end(ap);
	printed_len += (size_t)n;
	if (printed_len >= sizeof printed)
		printed_len = sizeof printed - 1;
	return n;
}

_Noreturn void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	(void)file;
	(void)line;
	va_start(ap, fmt);
	panic_hook(fmt, ap);
}

/* The table is the only memory frame.c touches: one buffer, as large
 * as the biggest map here needs, standing for physical memory from
 * 1 MiB up. */
#define TABLE_AREA (1 * MiB)
#define TABLE_ROOM (8 * MiB)
static unsigned char *table_ram;

void *pt_phys_to_virt(uint64_t phys)
{
	if (phys < TABLE_AREA || phys >= TABLE_AREA + TABLE_ROOM) {
		check_fail(__FILE__, __LINE__, "pt_phys_to_virt(%#lx): the "
			   "table should be at 1 MiB", (unsigned long)phys);
		check_abandon();
	}
	return table_ram + (phys - TABLE_AREA);
}

static void map_set(const struct mem_range *m, int n)
{
	for (int i = 0; i < n; i++)
		memmap[i] = m[i];
	memmap_count = n;
	printed_len = 0;
	printed[0] = '\0';
}

/* Where s is in the boot output, or NULL. (No <string.h>: with
 * -I kernel it would be the kernel's own.) */
static const char *printed_find(const char *s)
{
	for (const char *p = printed; *p; p++) {
		size_t i = 0;

		while (s[i] && p[i] == s[i])
			i++;
		if (!s[i])
			return p + i;
	}
	return NULL;
}

static bool printed_has(const char *s)
{
	return printed_find(s) != NULL;
}

/* A small machine as firmware describes it: usable RAM up to 96 MiB,
 * then the ACPI tables (reclaimable) and ACPI NVS, then devices. */
static const struct mem_range small_pc[] = {
	{ 0x0, 0x9F000, E820_USABLE },
	{ 0x9FC00, 0xA0000, E820_RESERVED },
	{ 0xF0000, 0x100000, E820_RESERVED },
	{ 0x100000, 0x200000, E820_KERNEL },
	{ 0x200000, 96 * MiB, E820_USABLE },
	{ 96 * MiB, 96 * MiB + 0x10000, E820_ACPI },
	{ 96 * MiB + 0x10000, 96 * MiB + 0x20000, E820_NVS },
	{ 0xFEC00000, 0xFEC01000, E820_RESERVED },
};

/* ---- The cases ------------------------------------------------------ */

/* The table covers the ACPI memory above the last usable range, so
 * that memory can be added once the ACPI tables are read. (With a
 * table sized from the highest usable range, that frame_init_range()
 * is a misuse, and the kernel panics.) */
static void acpi_memory_can_be_added_later(void)
{
	struct frame_stats s;
	uint64_t before;

	map_set(small_pc, 8);
	frame_setup_low();
	frame_setup_high();
	before = frame_free_count();
	frame_get_stats(&s);
	CHECKF(frame_pool.nframes == (96 * MiB + 0x20000) / FRAME_SIZE,
	       "the table covers %lu frames",
	       (unsigned long)frame_pool.nframes);
	frame_init_range(96 * MiB, 96 * MiB + 0x10000);   /* no panic */
	CHECK(frame_free_count() == before + 16);
	CHECK(s.table_phys >= LOW_MEMORY_END);
	CHECKF(printed_has("Frame table: 292 KiB for the frames below "
			   "6020000\n"), "printed:\n%s", printed);
}

/* Usable memory from 1 MiB up is managed, the first 1 MiB and the
 * table's own frames are not. */
static void what_is_managed(void)
{
	struct frame_stats s;
	uint64_t usable = 96 * MiB - 0x200000;

	map_set(small_pc, 8);
	frame_setup_low();
	frame_setup_high();
	frame_get_stats(&s);
	CHECK(s.table_phys == 0x200000);
	CHECKF(s.total == (usable - s.table_bytes) / FRAME_SIZE,
	       "%lu frames managed", (unsigned long)s.total);
	CHECK(s.free == s.total && s.used == 0);
}

/* The boot output's block sizes follow FRAME_MAX_ORDER: one column per
 * order, and the label's last size is FRAME_MAX_RUN. */
static void block_line_follows_max_order(void)
{
	char want[64];
	int columns = 0;
	const char *p;

	map_set(small_pc, 8);
	frame_setup_low();
	frame_setup_high();
	snprintf(want, sizeof want, "Free blocks of 1, 2, 4 ... %llu frames:",
		 (unsigned long long)FRAME_MAX_RUN);
	p = printed_find(want);
	CHECKF(p, "no \"%s\" in:\n%s", want, printed);
	for (; p && *p && *p != '\n'; p++)
		columns += *p == ' ';
	CHECKF(columns == FRAME_MAX_ORDER + 1, "%d columns in:\n%s", columns,
	       printed);
}

/* No usable range between 1 MiB and 1 GiB can hold the table: a clear
 * stop, not a table in memory the kernel cannot reach yet. */
static void no_room_for_the_table(void)
{
	static const struct mem_range tiny[] = {
		{ 0x0, 0x9F000, E820_USABLE },
		{ 0x100000, 0x200000, E820_KERNEL },
		{ 0x200000, 0x201000, E820_USABLE },
		{ 0x100000000, 0x200000000, E820_USABLE },
	};

	map_set(tiny, 4);
	EXPECT_PANIC(frame_setup_low(), "no room below 1 GiB for the frame "
		     "table (%lu bytes)",
		     (unsigned long)frame_meta_bytes(0x200000000));
}

int main(void)
{
	table_ram = calloc(1, TABLE_ROOM);
	if (table_ram == NULL) {
		perror("test_frame_setup");
		return 2;
	}
	RUN(acpi_memory_can_be_added_later);
	RUN(what_is_managed);
	RUN(block_line_follows_max_order);
	RUN(no_room_for_the_table);
	free(table_ram);
	return check_done("test_frame_setup");
}
