/* ksyms.h: the kernel's own symbol table, for reports and backtraces. */
#ifndef KSYMS_H
#define KSYMS_H

#include <stddef.h>
#include <stdint.h>

struct ksym {
	uint64_t addr;
	const char *name;
};

/* Generated at build time into build/ksyms.c (see tools/gensyms). */
extern const struct ksym ksyms[];
extern const unsigned ksyms_count;

const struct ksym *ksym_lookup(uint64_t addr);
char *ksym_format(uint64_t addr, char *buf, size_t len);

#endif
