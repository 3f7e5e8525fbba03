/*
 * ksyms.c: turns a code address into "function+offset" using the
 * symbol table that the build embeds in the kernel.
 */
#include "ksyms.h"
#include "kprintf.h"

/**
 * ## A symbol table inside the kernel
 *
 * A fault report that says "RIP = FFFFFF0000103A4C" sends the reader to
 * `objdump`. One that says `write_rodata+0x2c` does not. So the kernel
 * carries a table of its own functions: addresses and names, sorted by
 * address.
 *
 * The table cannot exist before the kernel is linked, because only the
 * linker knows the addresses. So the build links twice
 * (`tools/chapter.mk`). The first link uses an empty table. `nm` then
 * lists the text symbols of that kernel, and `tools/gensyms` writes them
 * out as the C array `ksyms` in `build/ksyms.c`. The second link uses
 * the real table. The table lives in `.rodata`, after all the code, so
 * its size cannot move any function: the build compares the function
 * addresses of both links and stops if they differ.
 *
 * Looking an address up is a binary search for the last symbol at or
 * below it.
 */
const struct ksym *ksym_lookup(uint64_t addr)
{
	unsigned lo = 0, hi = ksyms_count;

	if (ksyms_count == 0 || addr < ksyms[0].addr)
		return NULL;
	while (hi - lo > 1) {              /* ksyms[lo].addr <= addr */
		unsigned mid = lo + (hi - lo) / 2;

		if (ksyms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return &ksyms[lo];
}

/* "name+0xoff", or the bare hex address when no symbol covers it. */
char *ksym_format(uint64_t addr, char *buf, size_t len)
{
	const struct ksym *s = ksym_lookup(addr);
	extern char __text_end[];

	if (s && addr < (uint64_t)__text_end)
		ksnprintf(buf, len, "%s+0x%lx", s->name,
			  (unsigned long)(addr - s->addr));
	else
		ksnprintf(buf, len, "%016lx", (unsigned long)addr);
	return buf;
}
