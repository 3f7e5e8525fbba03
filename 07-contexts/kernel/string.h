/*
 * string.h: the few C library memory and string functions the kernel
 * uses. gcc may also call memcpy, memset, memmove and memcmp on its own
 * (to copy a large struct, say), even in a freestanding program, so they
 * must exist under exactly these names.
 */
#ifndef STRING_H
#define STRING_H

#include <stddef.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

#endif
