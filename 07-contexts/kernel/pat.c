/*
 * pat.c: programs IA32_PAT, the table that gives each page its memory
 * type (write-back, uncached, write-combining, ...).
 */
#include "pat.h"
#include "panic.h"
#include "x86.h"

/**
 * ## Caching, page by page
 *
 * Each page-table entry has three bits that choose how the CPU may
 * cache the page: PWT (bit 3), PCD (bit 4) and PAT (bit 7 of a 4 KiB
 * entry, bit 12 of a 2 MiB one). Together they form a number from 0 to
 * 7, and that number indexes the *page attribute table*, the MSR
 * IA32_PAT (0x277). It holds eight one-byte memory types:
 *
 * | entry | PAT PCD PWT | type we store        | used for                |
 * |-------|-------------|----------------------|-------------------------|
 * | PA0   | 0 0 0       | 06 write-back (WB)   | all RAM: the default    |
 * | PA1   | 0 0 1       | 04 write-through (WT)| nothing yet             |
 * | PA2   | 0 1 0       | 07 uncached- (UC-)   | nothing yet             |
 * | PA3   | 0 1 1       | 00 uncached (UC)     | device registers (ch 06)|
 * | PA4   | 1 0 0       | 01 write-combining   | the VGA text buffer     |
 * | PA5   | 1 0 1       | 05 write-protect (WP)| nothing yet             |
 * | PA6   | 1 1 0       | 07 uncached- (UC-)   | nothing yet             |
 * | PA7   | 1 1 1       | 00 uncached (UC)     | nothing yet             |
 *
 * PA0-PA3 and PA6-PA7 keep their power-on values, so an entry that sets
 * only PWT and PCD means the same with or without this table. At power-on
 * PA4-PA5 repeat PA0-PA1. Redox 0.3.5 makes PA4 write-combining, which
 * lets a frame buffer take whole bursts of writes, and we do the same.
 * We make PA5 write-protect where Redox leaves WT, so that all six
 * memory types can be chosen.
 *
 * Changing the PAT is safe here, without the cache-flush procedure the
 * Intel manual describes for it (vol. 3, "Programming the PAT"). The
 * bootloader's tables use only PA0, and we change only PA4 and PA5,
 * which no mapping uses yet. CPUID.01H:EDX bit 16 says whether the PAT
 * exists at all. Every CPU that can run 64-bit code has one, so a CPU
 * without it is a sign of something badly wrong (an emulator started
 * with the feature switched off), and we stop there, as for NX.
 */
#define CPUID_01_EDX_PAT (1u << 16)

void pat_init(void)
{
	if (!(cpuid(1, 0).edx & CPUID_01_EDX_PAT))
		panic("this CPU has no PAT (CPUID 01h:EDX.16)");
	wrmsr(MSR_IA32_PAT, PAT_VALUE);
}
