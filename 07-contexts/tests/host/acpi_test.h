/*
 * acpi_test.h: what test_acpi.c and test_madt.c share: the printing
 * and allocation hooks, and reading the dumped QEMU tables.
 *
 * Include it after check.h, acpi.c and the kernel's format.c.
 *
 * - The print hook formats with the kernel's own kvsnprintf()
 *   (format.c), so a directive the kernel's printf does not know
 *   shows up here as it would on the console, and collects the text.
 * - The allocation hook is malloc, remembered so that alloc_reset()
 *   frees it all (LeakSanitizer checks that at exit), and it can be
 *   told to fail.
 * - The data files (tests/acpi/) are found from the program's own
 *   path, build/host/NAME, so the test runs from any directory.
 */
#ifndef ACPI_TEST_H
#define ACPI_TEST_H

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi_mem.h"

/* With -I kernel, <string.h> is the kernel's own, which declares only
 * what the kernel uses; these three come from the host's C library. */
char *strstr(const char *haystack, const char *needle);
char *strchr(const char *s, int c);
int strncmp(const char *a, const char *b, size_t n);

/* Everything here is static; a test uses what it needs. */
#define TEST_API static __attribute__((unused))

/* ---- The print hook ---- */

static char out[1 << 16];
static size_t out_len;

TEST_API void out_reset(void)
{
	out_len = 0;
	out[0] = '\0';
}

TEST_API __attribute__((format(printf, 1, 2)))
int collect(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(out + out_len, sizeof out - out_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		out_len += (size_t)n < sizeof out - out_len ?
			   (size_t)n : sizeof out - out_len - 1;
	return n;
}

/* ---- The allocation hook ---- */

#define ALLOC_MAX 64
static void *allocs[ALLOC_MAX];
static size_t nallocs, alloc_bytes;
static int alloc_fail;     /* fail every allocation while set */

TEST_API void *test_alloc(size_t size)
{
	void *p;

	if (alloc_fail || nallocs == ALLOC_MAX)
		return NULL;
	p = malloc(size);
	allocs[nallocs++] = p;
	alloc_bytes += size;
	return p;
}

TEST_API void alloc_reset(void)
{
	for (size_t i = 0; i < nallocs; i++)
		free(allocs[i]);
	nallocs = alloc_bytes = 0;
	alloc_fail = 0;
}

static const struct acpi_env test_env = { mem_map, test_alloc };

/* ---- Files ---- */

static char data_dir[PATH_MAX];  /* .../tests/acpi */

/* Find tests/acpi from argv[0] = <chapter>/build/host/<program>. */
TEST_API void data_dir_init(const char *argv0)
{
	char exe[PATH_MAX];
	char *cut;

	snprintf(data_dir, sizeof data_dir, "tests/acpi");
	if (realpath(argv0, exe) == NULL)
		return;
	cut = strstr(exe, "/build/host/");
	if (cut == NULL)
		return;
	*cut = '\0';
	snprintf(data_dir, sizeof data_dir, "%.*s/tests/acpi",
		 (int)(sizeof data_dir - 20), exe);
}

/* Read data_dir/dir/name; NULL (and *size 0) if it is not there. The
 * caller frees the buffer. */
TEST_API uint8_t *read_data(const char *dir, const char *name,
			   size_t *size)
{
	char path[PATH_MAX + 256];
	uint8_t *buf = NULL;
	long len;
	FILE *f;

	*size = 0;
	snprintf(path, sizeof path, "%s/%s/%s", data_dir, dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)len + 1);
		if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		} else {
			buf[len] = '\0';
			*size = (size_t)len;
		}
	}
	fclose(f);
	return buf;
}

/* Write size bytes to dir/name; 0 on success. */
TEST_API int write_data(const char *dir, const char *name,
			const void *bytes, size_t size)
{
	char path[PATH_MAX + 256];
	FILE *f;
	int bad;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL) {
		printf("cannot write %s\n", path);
		return 1;
	}
	bad = fwrite(bytes, 1, size, f) != size;
	return fclose(f) != 0 || bad;
}

/*
 * The hand-made cases are also committed, in tests/acpi/corner/, as
 * the fuzzers' seeds and for anyone to look at with a hex dump. A
 * test program writes them with --write-seeds DIR; this case checks
 * that the committed files are exactly what it writes now.
 */
TEST_API void check_corner_files(int (*write)(const char *dir),
				 const char *program)
{
	char tmp[] = "/tmp/acpi-corner.XXXXXX";
	char cmd[2 * PATH_MAX + 128];
	int same;

	if (mkdtemp(tmp) == NULL) {
		CHECKF(0, "mkdtemp failed");
		return;
	}
	CHECK(write(tmp) == 0);
	/* Every file written must be in corner/, with the same bytes. */
	snprintf(cmd, sizeof cmd, "for f in %s/*; do cmp -s \"$f\" "
		 "\"%s/corner/${f##*/}\" || exit 1; done", tmp,
		 data_dir);
	same = system(cmd) == 0;
	CHECKF(same, "tests/acpi/corner/ is out of date: run build/host/%s "
	       "--write-seeds tests/acpi/corner", program);
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
	CHECK(system(cmd) == 0);
}

/* ---- The dumped QEMU configurations ---- */

/* tests/acpi/qemu/<name>/, written by tools/acpi-dump --all: name, and
 * what QEMU was given, as the MADT summary must say it. */
struct qemu_config {
	const char *name;
	const char *tables;   /* the signatures the RSDT lists */
	const char *summary;  /* madt_print_summary()'s line */
};

#define PC_TABLES  "FACP APIC HPET WAET"
#define Q35_TABLES "FACP APIC HPET MCFG WAET"
#define QEMU_REST "LAPIC 0xfee00000; 1 I/O APIC; 5 IRQ overrides; " \
	"1 NMI; 8259 PICs present\n"

static const struct qemu_config qemu_configs[] = {
	{ "pc-smp1", PC_TABLES,
	  "MADT: 1 CPU enabled, APIC ids 0; " QEMU_REST },
	{ "pc-smp2", PC_TABLES,
	  "MADT: 2 CPUs enabled, APIC ids 0-1; " QEMU_REST },
	{ "pc-smp4", PC_TABLES,
	  "MADT: 4 CPUs enabled, APIC ids 0-3; " QEMU_REST },
	{ "pc-smp8", PC_TABLES,
	  "MADT: 8 CPUs enabled, APIC ids 0-7; " QEMU_REST },
	{ "pc-smp64", PC_TABLES,
	  "MADT: 64 CPUs enabled, APIC ids 0-63; " QEMU_REST },
	{ "pc-smp255", PC_TABLES,
	  "MADT: 255 CPUs enabled, APIC ids 0-254; " QEMU_REST },
	{ "pc-smp4-maxcpus8", PC_TABLES,
	  "MADT: 4 CPUs enabled, APIC ids 0-3; 4 disabled "
	  "(0 online-capable); " QEMU_REST },
	{ "pc-smp6-sockets2-cores3", PC_TABLES,
	  "MADT: 6 CPUs enabled, APIC ids 0-2,4-6; " QEMU_REST },
	{ "q35-smp1", Q35_TABLES,
	  "MADT: 1 CPU enabled, APIC ids 0; " QEMU_REST },
	{ "q35-smp2", Q35_TABLES,
	  "MADT: 2 CPUs enabled, APIC ids 0-1; " QEMU_REST },
	{ "q35-smp4", Q35_TABLES,
	  "MADT: 4 CPUs enabled, APIC ids 0-3; " QEMU_REST },
	{ "q35-smp8", Q35_TABLES,
	  "MADT: 8 CPUs enabled, APIC ids 0-7; " QEMU_REST },
	{ "q35-smp64", Q35_TABLES,
	  "MADT: 64 CPUs enabled, APIC ids 0-63; " QEMU_REST },
	{ "q35-smp255", Q35_TABLES,
	  "MADT: 255 CPUs enabled, APIC ids 0-254; " QEMU_REST },
	{ "q35-smp4-maxcpus8", Q35_TABLES,
	  "MADT: 4 CPUs enabled, APIC ids 0-3; 4 disabled "
	  "(0 online-capable); " QEMU_REST },
	{ "q35-smp6-sockets2-cores3", Q35_TABLES,
	  "MADT: 6 CPUs enabled, APIC ids 0-2,4-6; " QEMU_REST },
	{ "q35-hpet-off", "FACP APIC MCFG WAET",
	  "MADT: 2 CPUs enabled, APIC ids 0-1; " QEMU_REST },
	{ "q35-cpu-max", Q35_TABLES,
	  "MADT: 4 CPUs enabled, APIC ids 0-3; " QEMU_REST },
};

#define NCONFIGS (sizeof qemu_configs / sizeof qemu_configs[0])

/* One configuration's files, read in full. */
struct qemu_dump {
	char dir[80];
	uint8_t *memory, *bios, *ebda, *apic, *rsdp, *rsdt;
	size_t memory_size, bios_size, ebda_size, apic_size, rsdp_size,
	       rsdt_size;
	char *tables;         /* tables.txt */
	size_t tables_size;
	struct mem mem;       /* memory.bin, parsed */
};

/* Read a configuration's files; 0 if all are there. */
TEST_API int dump_load(struct qemu_dump *d, const char *name)
{
	memset(d, 0, sizeof *d);
	snprintf(d->dir, sizeof d->dir, "qemu/%s", name);
	d->memory = read_data(d->dir, "memory.bin", &d->memory_size);
	d->bios = read_data(d->dir, "bios.bin", &d->bios_size);
	d->ebda = read_data(d->dir, "ebda.bin", &d->ebda_size);
	d->apic = read_data(d->dir, "APIC.bin", &d->apic_size);
	d->rsdp = read_data(d->dir, "RSDP.bin", &d->rsdp_size);
	d->rsdt = read_data(d->dir, "RSDT.bin", &d->rsdt_size);
	d->tables = (char *)read_data(d->dir, "tables.txt",
				      &d->tables_size);
	if (d->memory != NULL)
		mem_parse(&d->mem, d->memory, d->memory_size);
	return d->memory && d->bios && d->ebda && d->apic && d->rsdp &&
	       d->rsdt && d->tables ? 0 : -1;
}

TEST_API void dump_free(struct qemu_dump *d)
{
	free(d->memory);
	free(d->bios);
	free(d->ebda);
	free(d->apic);
	free(d->rsdp);
	free(d->rsdt);
	free(d->tables);
	memset(d, 0, sizeof *d);
}

/* The n-th (from 0) line of tables.txt starting with key and a space,
 * copied into line; 0 if there is one. */
TEST_API int dump_line(const struct qemu_dump *d, const char *key, int n,
		       char *line, size_t size)
{
	size_t klen = strlen(key);

	for (const char *p = d->tables; *p != '\0'; ) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > klen && strncmp(p, key, klen) == 0 &&
		    p[klen] == ' ' && n-- == 0) {
			snprintf(line, size, "%.*s", (int)len, p);
			return 0;
		}
		p += len + (end != NULL);
	}
	return -1;
}

/* The dump tool writes text fields with '_' for a space or any byte
 * that is not printable. */
TEST_API void dump_text(char *out_text, const char *field, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)field[i];

		out_text[i] = c > 0x20 && c < 0x7F ? (char)c : '_';
	}
	out_text[n] = '\0';
}

#endif /* ACPI_TEST_H */
