/*
 * acpi.h: finding the firmware's ACPI tables and checking them.
 *
 * The firmware leaves a description of the machine in memory: a chain
 * of tables that starts at the RSDP. This file's functions find the
 * RSDP, check every table the chain leads to, and print what they
 * found. madt.h reads the one table chapter 06 needs, the MADT, which
 * lists the CPUs.
 *
 * Pure logic: every function reads only the bytes it is given, and
 * reaches memory and the heap only through the hooks in struct
 * acpi_env, so the host tests (tests/host/test_acpi.c) and the fuzzers
 * (fuzz/) compile this very code. acpi.c explains ACPI.
 *
 * No function writes to the tables, and none keeps state between
 * calls: they may be called at any time, on any CPU.
 */
#ifndef ACPI_H
#define ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Results. Every function that can fail returns ACPI_OK or one of
 * these; acpi_strerror() gives the words the printing helpers use. */
enum {
	ACPI_OK = 0,
	ACPI_E_TRUNCATED,  /* the bytes end before the structure does */
	ACPI_E_SIGNATURE,  /* not the signature that was asked for */
	ACPI_E_LENGTH,     /* a length field that no valid table has */
	ACPI_E_CHECKSUM,   /* the bytes do not add up to 0 */
	ACPI_E_NOT_FOUND,  /* no RSDP in the area; no such CPU */
	ACPI_E_UNMAPPED,   /* the map hook cannot reach the address */
	ACPI_E_NULL,       /* a root table lists physical address 0 */
	ACPI_E_RECORD,     /* a MADT record is shorter than its type's
	                      size, or runs past the end of the table */
	ACPI_E_NO_MEMORY,  /* the allocation hook returned NULL */
	ACPI_E_FULL,       /* more entries than there is room for */
	ACPI_E_UNSUPPORTED, /* valid, but a kind this kernel cannot use */
};

const char *acpi_strerror(int err);

/* Where the RSDP may be (ACPI spec, "Finding the RSDP on IA-PC
 * Systems"): on a 16-byte boundary in the first KiB of the EBDA, whose
 * real-mode segment is the BIOS Data Area's word at 0x40E, or in the
 * BIOS read-only area 0xE0000-0xFFFFF. */
#define ACPI_EBDA_SEGMENT_PTR 0x40Eu    /* BDA: EBDA segment (u16) */
#define ACPI_EBDA_SEARCH      1024u     /* search its first KiB */
#define ACPI_BIOS_AREA        0xE0000u  /* and all of this area */
#define ACPI_BIOS_AREA_SIZE   0x20000u  /* 0xE0000-0xFFFFF */

#define ACPI_RSDP_V1_SIZE 20u  /* ACPI 1.0: up to RsdtAddress */
#define ACPI_RSDP_V2_SIZE 36u  /* 2.0+: Length, XsdtAddress, Extended
                                  Checksum, 3 reserved bytes */
#define ACPI_HEADER_SIZE  36u  /* System Description Table Header */

/* Our limits, not the spec's: they keep a broken length field from
 * making the kernel map or scan gigabytes (acpi.c, "Limits"). */
#define ACPI_TABLE_MAX (4u << 20)  /* the longest table we accept */
#define ACPI_ROOT_MAX  1024u       /* most entries in an RSDT/XSDT */

/* The RSDP, decoded. */
struct acpi_rsdp {
	uint64_t phys;      /* where it was found */
	uint8_t revision;   /* 0: ACPI 1.0; 2 or more: ACPI 2.0 on */
	char oem[6];        /* OEMID: text, padded, no NUL */
	uint32_t length;    /* bytes checked: 20, or the Length field */
	uint32_t rsdt;      /* RsdtAddress: the RSDT, physical */
	uint64_t xsdt;      /* XsdtAddress; 0 when revision < 2 */
	/* Filled by acpi_rsdp_find(): the candidates it rejected (they
	 * had the signature but failed a check), and the first of them. */
	unsigned rejected;
	uint64_t rejected_phys;
	int rejected_err;
};

/* The 36-byte header every table except the RSDP (and the FACS)
 * starts with, decoded. The text fields are padded, with no NUL. */
struct acpi_header {
	char sig[4];         /* Signature, e.g. "APIC" for the MADT */
	uint32_t length;     /* Length: the whole table, header included */
	uint8_t revision;    /* Revision of this table's layout */
	char oem[6];         /* OEMID */
	char oem_table[8];   /* OEM Table ID */
	uint32_t oem_revision;
	char creator[4];     /* Creator ID: the tool that built it */
	uint32_t creator_revision;
};

/* The sum of n bytes, modulo 256: 0 for a correct table. */
uint8_t acpi_checksum(const void *p, size_t n);

/* Little-endian fields at any alignment. ACPI tables are byte-packed:
 * a 64-bit XSDT entry sits at offset 36 + 8i, never 8-aligned. */
static inline uint16_t acpi_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t acpi_get32(const uint8_t *p)
{
	return (uint32_t)acpi_get16(p) | (uint32_t)acpi_get16(p + 2) << 16;
}

static inline uint64_t acpi_get64(const uint8_t *p)
{
	return (uint64_t)acpi_get32(p) | (uint64_t)acpi_get32(p + 4) << 32;
}

/*
 * Where to search the EBDA, given the BDA's word at 0x40E: sets *base
 * and *size (at most 1 KiB) and returns ACPI_OK, or ACPI_E_NOT_FOUND
 * when the word cannot point at an EBDA (below 0x500, the end of the
 * BDA, or at 640 KiB and above).
 */
int acpi_ebda_area(uint16_t segment, uint64_t *base, size_t *size);

/* Check the RSDP at p (avail bytes readable there), which sits at
 * physical address phys, and decode it into *r. Checks the signature,
 * the checksum of the first 20 bytes and, for revision 2 and up, the
 * Length field and the extended checksum over Length bytes. */
int acpi_rsdp_check(const void *p, size_t avail, uint64_t phys,
		    struct acpi_rsdp *r);

/* Search size bytes at area (physical address phys) for the first
 * valid RSDP on a 16-byte physical boundary. ACPI_OK and *r, or
 * ACPI_E_NOT_FOUND; either way r->rejected counts the candidates that
 * had the signature but failed acpi_rsdp_check(). */
int acpi_rsdp_find(const void *area, size_t size, uint64_t phys,
		   struct acpi_rsdp *r);

/* Decode the header at p (avail bytes readable). Needs only the 36
 * header bytes; checks that Length lies in [36, ACPI_TABLE_MAX], so
 * the caller knows how much to map before it reads the rest. */
int acpi_header_read(const void *p, size_t avail, struct acpi_header *h);

/* Check a whole table: the header as above, Length <= avail, the
 * checksum of Length bytes, and the signature when sig is not NULL.
 * Fills *h (when not NULL) from the header. */
int acpi_table_check(const void *p, size_t avail, const char *sig,
		     struct acpi_header *h);

/* Check a root table: an RSDT (entry_size 4) or an XSDT (entry_size
 * 8) at p. acpi_table_check() with its signature, then Length must be
 * 36 plus whole entries, at most ACPI_ROOT_MAX of them. Sets *count. */
int acpi_root_check(const void *p, size_t avail, unsigned entry_size,
		    size_t *count);

/* Entry i of a checked root table: a table's physical address. */
uint64_t acpi_root_entry(const void *root, unsigned entry_size, size_t i);

/*
 * The environment: how the walk reaches memory and the heap.
 *
 * map(phys, size) returns a pointer through which the size bytes at
 * physical address phys can be read, or NULL if it cannot map them.
 * The walk calls it for a table's 36-byte header first and then for
 * the whole table; every pointer it returned must stay valid for as
 * long as the result of acpi_tables_load() is used. The walk never
 * asks for a range that wraps past 2^64.
 *
 * alloc(size) returns size bytes of memory (at least 8-aligned) or
 * NULL; the kernel passes kmalloc. Nothing is ever freed: the kernel
 * keeps its ACPI tables for good.
 */
struct acpi_env {
	const void *(*map)(uint64_t phys, size_t size);
	void *(*alloc)(size_t size);
};

/* One table a root table points at, or a root table itself. */
struct acpi_table {
	uint64_t phys;            /* where the root table says it is */
	bool have_header;         /* hdr was read (it may be bad) */
	struct acpi_header hdr;   /* as read, when have_header */
	const uint8_t *data;      /* all hdr.length bytes, through map();
	                             NULL unless err is ACPI_OK */
	int err;                  /* ACPI_OK, or why it is not used */
};

/* Everything the walk found. */
struct acpi_tables {
	struct acpi_rsdp rsdp;      /* the RSDP the walk started from */
	struct acpi_table xsdt;     /* the XSDT, tried first when the RSDP
	                               names one; phys 0 otherwise */
	struct acpi_table rsdt;     /* the RSDT, used when there is no
	                               usable XSDT; phys 0 if not tried */
	bool use_xsdt;              /* the list below is the XSDT's */
	struct acpi_table *table;   /* the tables that list points at, in
	                               its order, usable or not */
	size_t count;
};

/*
 * Walk the chain from a checked RSDP: the XSDT if the RSDP is revision
 * 2 or more and names one and it passes acpi_root_check(), else the
 * RSDT; then every table that root table lists. Each table's header
 * is mapped and checked before the table is mapped whole and checked;
 * a table that fails keeps its err and a NULL data, and the walk goes
 * on. Returns ACPI_OK when a root table was usable (even if tables it
 * lists were not), else the error of the last root table tried, or
 * ACPI_E_NO_MEMORY. *t is filled in either case.
 */
int acpi_tables_load(const struct acpi_rsdp *rsdp,
		     const struct acpi_env *env, struct acpi_tables *t);

/* The first usable table with this 4-character signature, or NULL. */
const struct acpi_table *acpi_table_find(const struct acpi_tables *t,
					 const char *sig);

/* The printing hook: printf-like; the kernel passes kprintf. The
 * helpers use only the directives kvformat() knows (kprintf.h). */
typedef int (*acpi_print_fn)(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Print one line for the RSDP, one more if the search rejected
 * candidates, one per root table tried and one per listed table:
 * signature, address, length, revision and OEM ids, or why the table
 * was skipped. */
void acpi_print_tables(const struct acpi_tables *t, acpi_print_fn print);

/* Copy an ACPI text field of n bytes into out (n + 1 bytes) for
 * printing: cut at a NUL, '?' for a byte that is not printable ASCII,
 * trailing spaces dropped. */
void acpi_text(char *out, const char *field, size_t n);

#endif /* ACPI_H */
