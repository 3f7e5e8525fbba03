/*
 * acpi_mem.h: simulated physical memory for the ACPI tests and the
 * fuzzers, and the map hook over it.
 *
 * A *memory image* is a few segments of physical memory, each some
 * bytes at some physical address. On disk (memory.bin, written by
 * tools/acpi-dump, and the fuzzers' inputs) it is the segments one
 * after the other, little-endian:
 *
 *     u64 physical address, u32 size, then size bytes; repeated
 *
 * A file that ends inside a segment's bytes gives a shorter last
 * segment; one that ends inside a segment's 12-byte head ends the
 * image there. mem_map() is struct acpi_env's map hook: it returns a
 * pointer into the one segment that holds all of [phys, phys + size),
 * or NULL; it also logs every call, so a test can check what the walk
 * asked for and in what order.
 */
#ifndef ACPI_MEM_H
#define ACPI_MEM_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEM_MAX_SEGS 32
#define MEM_LOG_MAX  4096

struct mem_seg {
	uint64_t phys;
	size_t size;
	uint8_t *bytes;   /* owned by the image when it built them */
};

struct mem {
	size_t n;
	struct mem_seg seg[MEM_MAX_SEGS];
	int owns;         /* mem_add() copies: mem_free() frees them */
};

/* The image mem_map() reads, and its log. */
static struct mem *mem_current;
static struct { uint64_t phys; size_t size; } mem_log[MEM_LOG_MAX];
static size_t mem_log_n;

static __attribute__((unused)) void mem_use(struct mem *m)
{
	mem_current = m;
	mem_log_n = 0;
}

static __attribute__((unused)) const void *mem_map(uint64_t phys,
						    size_t size)
{
	if (mem_log_n < MEM_LOG_MAX) {
		mem_log[mem_log_n].phys = phys;
		mem_log[mem_log_n].size = size;
	}
	mem_log_n++;
	if (mem_current == NULL)
		return NULL;
	for (size_t i = 0; i < mem_current->n; i++) {
		const struct mem_seg *s = &mem_current->seg[i];

		if (phys >= s->phys && phys - s->phys <= s->size &&
		    size <= s->size - (phys - s->phys))
			return s->bytes + (phys - s->phys);
	}
	return NULL;
}

static uint64_t mem_get(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Read an image from its file form. The segments point into data,
 * which must outlive the image. At most MEM_MAX_SEGS segments. */
static __attribute__((unused)) void mem_parse(struct mem *m,
					       const uint8_t *data,
					       size_t size)
{
	size_t off = 0;

	memset(m, 0, sizeof *m);
	while (m->n < MEM_MAX_SEGS && size - off >= 12) {
		struct mem_seg *s = &m->seg[m->n++];
		uint64_t want = mem_get(data + off + 8, 4);

		s->phys = mem_get(data + off, 8);
		off += 12;
		s->size = want < size - off ? (size_t)want : size - off;
		s->bytes = (uint8_t *)data + off;
		off += s->size;
	}
}

/* Add a copy of size bytes at phys to an image built in memory. */
static __attribute__((unused)) uint8_t *mem_add(struct mem *m,
						uint64_t phys,
						const void *bytes,
						size_t size)
{
	struct mem_seg *s = &m->seg[m->n++];

	m->owns = 1;
	s->phys = phys;
	s->size = size;
	s->bytes = malloc(size ? size : 1);
	memcpy(s->bytes, bytes, size);
	return s->bytes;
}

static __attribute__((unused)) void mem_free(struct mem *m)
{
	if (m->owns)
		for (size_t i = 0; i < m->n; i++)
			free(m->seg[i].bytes);
	memset(m, 0, sizeof *m);
}

/* Write an image in its file form; 0 on success. */
static __attribute__((unused)) int mem_write(const struct mem *m,
					     const char *path)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		uint8_t head[12];

		for (int b = 0; b < 8; b++)
			head[b] = (uint8_t)(m->seg[i].phys >> 8 * b);
		for (int b = 0; b < 4; b++)
			head[8 + b] = (uint8_t)(m->seg[i].size >> 8 * b);
		fwrite(head, 1, sizeof head, f);
		fwrite(m->seg[i].bytes, 1, m->seg[i].size, f);
	}
	return fclose(f) == 0 ? 0 : -1;
}

#endif /* ACPI_MEM_H */
