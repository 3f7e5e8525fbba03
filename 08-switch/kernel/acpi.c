/*
 * acpi.c: finding the RSDP, checking the RSDT or XSDT and every table
 * it lists, and printing what was found.
 *
 * Pure logic: it reads the bytes it is handed, and memory and the
 * heap only through the hooks in struct acpi_env (acpi.h). The kernel
 * maps the firmware's memory; the host tests and the fuzzers hand it
 * buffers instead.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acpi.h"
#include "string.h"

/**
 * ## Why a kernel needs ACPI to find its CPUs
 *
 * When the machine starts, exactly one CPU runs: the *bootstrap
 * processor* (BSP). The others wait, powered but idle, until software
 * wakes them one by one. To wake a CPU, the kernel sends it a message
 * through its *local APIC*, the small interrupt controller built into
 * every CPU, addressed by that APIC's *id*. Nothing in the BSP itself
 * says how many other CPUs there are or what their ids are: the `cpuid`
 * instruction describes only the CPU that runs it. That list belongs
 * to the machine, not to any one processor, so the firmware (the BIOS,
 * here QEMU's SeaBIOS) writes it down in memory before it starts the
 * boot sector.
 *
 * The format is ACPI, the *Advanced Configuration and Power Interface*.
 * Besides CPUs, ACPI describes the interrupt controllers, the timers,
 * PCI Express's configuration space, power buttons and sleep states,
 * in a set of *tables*. Each table is a run of bytes with a 4-letter
 * *signature*: `APIC` for the MADT (the *Multiple APIC Description
 * Table*, the CPU list, read by madt.c), `FACP` for the FADT (fixed
 * hardware such as the ACPI power-management timer), `HPET` for the
 * high-precision event timer, `MCFG` for PCI Express.
 *
 * ## The chain of tables
 *
 * The tables can be anywhere in memory, so the firmware leaves one
 * small structure where a kernel can search for it, the *RSDP*
 * (*Root System Description Pointer*). It starts with the eight bytes
 * `RSD PTR ` and sits on a 16-byte boundary in one of two places: the
 * first KiB of the *EBDA* (the Extended BIOS Data Area, a block of
 * the BIOS's own data just below 640 KiB), or the BIOS area
 * 0xE0000-0xFFFFF. The EBDA can move, so the BIOS notes where it is
 * in its *BIOS Data Area* at 0x400: the 16-bit word at 0x40E holds
 * the EBDA's real-mode segment, and a segment times 16 is an address.
 * The RSDP points at a *root table*, and the root table points at all
 * the others:
 *
 *     searched: the EBDA's first KiB, then 0xE0000-0xFFFFF
 *     +--------------------------+
 *     | RSDP  "RSD PTR "         |
 *     |  RsdtAddress (32-bit) ---------------------+
 *     |  XsdtAddress (64-bit) ------+  (rev. 2+)   |
 *     +--------------------------+  |              |
 *                                   v              v
 *                         +--------------+  +--------------+
 *                         | XSDT         |  | RSDT         |
 *                         | header       |  | header       |
 *                         | 64-bit ptrs  |  | 32-bit ptrs  |
 *                         +--------------+  +--------------+
 *                                 |  the kernel uses one  |
 *                                 +-----------+-----------+
 *                                             |
 *             +----------------+--------------+--+-------------+
 *             v                v                 v             v
 *       +-----------+    +-----------+    +-----------+    +-----+
 *       | FACP      |    | APIC      |    | HPET      |    | ... |
 *       | (FADT)    |    | (MADT)    |    | (timer)   |    |     |
 *       +-----------+    | records:  |    +-----------+    +-----+
 *             |          | CPUs, I/O |
 *             v          | APICs ... |
 *        DSDT, FACS      +-----------+
 *
 * A revision 0 RSDP is 20 bytes with one checksum; revision 2 and
 * later add a Length, the XsdtAddress and a second checksum, 36 bytes.
 *
 * The RSDT (*Root System Description Table*) of ACPI 1.0 holds 32-bit
 * addresses. ACPI 2.0 added the XSDT (*Extended* SDT), the same list
 * with 64-bit addresses, and a longer RSDP to point at it; a revision
 * 2 RSDP may point at both, and then the XSDT is the one to use.
 * QEMU 7.2 with SeaBIOS gives a revision 0 RSDP and an RSDT only, in
 * every configuration the chapter's tests use (pc and q35, 1 to 255
 * CPUs): the RSDP at 0xF59D0 on pc and 0xF59E0 on q35 (0xF5980 and
 * 0xF5990 with `-smp 6,sockets=2,cores=3`: it moves, so it must be
 * searched for), and the tables near the top of RAM below 4 GiB, at
 * 0x7FFE0000 and up with 2 GiB. The host tests replay those dumped
 * tables, and build the XSDT cases by hand.
 *
 * Every table after the RSDP starts with the same 36-byte *header*:
 *
 * | offset | size | field |
 * |---:|---:|---|
 * | 0 | 4 | Signature, e.g. `APIC` |
 * | 4 | 4 | Length of the whole table, header included |
 * | 8 | 1 | Revision of the table's layout |
 * | 9 | 1 | Checksum: makes all Length bytes sum to 0 |
 * | 10 | 6 | OEMID: who made the machine (QEMU: `BOCHS `) |
 * | 16 | 8 | OEM Table ID (QEMU: `BXPC    `) |
 * | 24 | 4 | OEM Revision |
 * | 28 | 4 | Creator ID: the tool that made the table |
 * | 32 | 4 | Creator Revision |
 *
 * All fields are little-endian and packed with no padding, so a
 * 64-bit XSDT entry at offset 36 is not 8-byte aligned. The code reads
 * every field a byte at a time (`acpi_get32()` in acpi.h): that works
 * at any alignment, and does not depend on the host's byte order.
 *
 * ## Why every table is checked
 *
 * A table is a promise from firmware, and firmware has bugs. Real
 * machines have shipped tables whose checksum is wrong, or whose
 * Length is wrong, and an operating system that follows a broken
 * pointer or believes a broken length reads whatever lies there: part
 * of another table, unmapped memory, device registers. The search
 * itself can be fooled: the BIOS area is 128 KiB of code and data,
 * and the eight bytes `RSD PTR ` may occur in it by chance, or be left
 * over from an older copy of the tables; a kernel that takes the
 * first match without its checksum takes garbage. The rules are also
 * easy to misread: one hobby kernel summed all 36 bytes of the longer
 * structure for a revision 0 RSDP, which has only 20, and so rejected
 * QEMU's valid RSDP and panicked.
 *
 * So the rules here are:
 *
 * 1. **The RSDP**: the signature, then the checksum of its first 20
 *    bytes; for revision 2 and up, a Length of at least 36 that fits
 *    in the area searched, and the *extended checksum* over Length
 *    bytes. A candidate that fails is counted and the search goes on.
 * 2. **Every table**: the header is read only when its 36 bytes are
 *    there; its Length must be at least 36 (no table is shorter than
 *    its header) and at most ACPI_TABLE_MAX; only then is the rest
 *    mapped, and all Length bytes must sum to 0.
 * 3. **A root table** must also hold whole entries: Length is 36 plus
 *    a multiple of 4 (RSDT) or 8 (XSDT). An XSDT that fails is
 *    reported and the RSDT is used instead, if there is one.
 * 4. **A table that fails** is reported by its signature (when its
 *    header could be read) and skipped: its bytes are never handed to
 *    a parser. The tables after it are still checked and used.
 *
 * A checksum does not prove a table right: it catches a table that
 * was cut short, overwritten or never finished, and a pointer that
 * points at something that is not a table. Catching those is worth
 * one byte-sum over a few kilobytes, once per boot.
 *
 * ## What Redox 0.3.5 checks, and what we do
 *
 * Redox maps 0xE0000-0xFFFFF and scans it in 16-byte steps for the
 * signature. It does not search the EBDA, and it does not verify the
 * RSDP's checksum, so the first eight bytes that happen to read
 * `RSD PTR ` win. A revision of 2 or more makes it use the XSDT.
 * For each table it maps the first page, reads Length from the header
 * and maps the rest, and in its MADT it knows record types 0 to 2
 * only (and acts on type 0 alone). Here the EBDA is searched first,
 * as the ACPI spec lists it; every checksum and length is verified; a
 * table that fails is skipped by name; and the MADT parser (madt.c)
 * knows six record types and stops on a record that lies about its
 * length.
 *
 * | | Redox 0.3.5 | here |
 * |---|---|---|
 * | RSDP in the EBDA | not searched | searched first |
 * | RSDP checksums | none | 20 bytes; all of a revision 2 RSDP |
 * | table Length | maps what it says | 36 to 4 MiB, else skipped |
 * | MADT record types | 0, 1, 2 (acts on 0) | 0, 1, 2, 4, 5, 9 |
 *
 * ## Limits
 *
 * Two limits are ours, not the spec's. ACPI_TABLE_MAX (4 MiB) bounds
 * a table's Length: QEMU's largest, the DSDT at -smp 255, is 30 KiB,
 * and a Length of 0xFFFFFFFF from a corrupt header must not make the
 * kernel map 4 GiB. ACPI_ROOT_MAX (1024) bounds the entries of a root
 * table: QEMU lists 4 or 5 tables, large servers a few dozen.
 */

const char *acpi_strerror(int err)
{
	switch (err) {
	case ACPI_OK:          return "ok";
	case ACPI_E_TRUNCATED: return "truncated";
	case ACPI_E_SIGNATURE: return "wrong signature";
	case ACPI_E_LENGTH:    return "bad length";
	case ACPI_E_CHECKSUM:  return "bad checksum";
	case ACPI_E_NOT_FOUND: return "not found";
	case ACPI_E_UNMAPPED:  return "cannot be mapped";
	case ACPI_E_NULL:      return "null address";
	case ACPI_E_RECORD:    return "bad record";
	case ACPI_E_NO_MEMORY: return "out of memory";
	case ACPI_E_FULL:      return "too many entries";
	case ACPI_E_UNSUPPORTED: return "not supported";
	default:               return "unknown error";
	}
}

uint8_t acpi_checksum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + b[i]);
	return sum;
}

/**
 * ## Finding the RSDP
 *
 * The kernel searches two areas, in the spec's order: the EBDA's
 * first KiB, then the BIOS area. The EBDA's segment comes from the
 * BIOS Data Area, and a BDA that is zero or garbage must not send the
 * search into the interrupt table or above 640 KiB, so
 * acpi_ebda_area() checks it first. (Under QEMU the EBDA is at
 * 0x9FC00 and holds no RSDP; the search finds it in the BIOS area.)
 */
int acpi_ebda_area(uint16_t segment, uint64_t *base, size_t *size)
{
	uint64_t b = (uint64_t)segment << 4;

	if (b < 0x500 || b >= 0xA0000)  /* BDA end; 640 KiB */
		return ACPI_E_NOT_FOUND;
	*base = b;
	*size = 0xA0000 - b < ACPI_EBDA_SEARCH ? (size_t)(0xA0000 - b)
					       : ACPI_EBDA_SEARCH;
	return ACPI_OK;
}

/**
 * The RSDP's layout. Revision 0 (ACPI 1.0) ends after RsdtAddress;
 * revision 2 (ACPI 2.0, and every later version) adds four fields and
 * a second checksum over the whole structure. (Revision 1 was never
 * used; it is read as 1.0.)
 *
 * | offset | size | field |
 * |---:|---:|---|
 * | 0 | 8 | Signature `RSD PTR ` (with the space) |
 * | 8 | 1 | Checksum: bytes 0-19 sum to 0 |
 * | 9 | 6 | OEMID |
 * | 15 | 1 | Revision |
 * | 16 | 4 | RsdtAddress |
 * | 20 | 4 | Length (revision 2+), 36 |
 * | 24 | 8 | XsdtAddress |
 * | 32 | 1 | Extended Checksum: all Length bytes sum to 0 |
 * | 33 | 3 | reserved |
 */
int acpi_rsdp_check(const void *p, size_t avail, uint64_t phys,
		    struct acpi_rsdp *r)
{
	const uint8_t *b = p;
	uint32_t length = ACPI_RSDP_V1_SIZE;

	if (avail < ACPI_RSDP_V1_SIZE)
		return ACPI_E_TRUNCATED;
	if (memcmp(b, "RSD PTR ", 8) != 0)
		return ACPI_E_SIGNATURE;
	if (acpi_checksum(b, ACPI_RSDP_V1_SIZE) != 0)
		return ACPI_E_CHECKSUM;
	if (b[15] >= 2) {
		if (avail < ACPI_RSDP_V2_SIZE)
			return ACPI_E_TRUNCATED;
		length = acpi_get32(b + 20);
		if (length < ACPI_RSDP_V2_SIZE)
			return ACPI_E_LENGTH;
		if (length > avail)
			return ACPI_E_TRUNCATED;
		if (acpi_checksum(b, length) != 0)
			return ACPI_E_CHECKSUM;
	}
	memset(r, 0, sizeof *r);
	r->phys = phys;
	r->revision = b[15];
	memcpy(r->oem, b + 9, sizeof r->oem);
	r->length = length;
	r->rsdt = acpi_get32(b + 16);
	r->xsdt = b[15] >= 2 ? acpi_get64(b + 24) : 0;
	return ACPI_OK;
}

/**
 * The search looks at every physical address in the area that is a
 * multiple of 16. The area's own start need not be one (the EBDA's is,
 * by construction, but a caller may pass any range), so the first
 * offset is whatever brings `phys + off` to the next boundary. A
 * candidate is whatever starts with the signature; one that fails the
 * checks is counted, its address and error kept for the report, and
 * the search goes on.
 */
int acpi_rsdp_find(const void *area, size_t size, uint64_t phys,
		   struct acpi_rsdp *r)
{
	const uint8_t *b = area;
	unsigned rejected = 0;
	uint64_t rejected_phys = 0;
	int rejected_err = ACPI_OK;
	int err = ACPI_E_NOT_FOUND;

	for (size_t off = (16 - (phys & 15)) & 15; off < size &&
	     size - off >= 8; off += 16) {
		if (memcmp(b + off, "RSD PTR ", 8) != 0)
			continue;
		err = acpi_rsdp_check(b + off, size - off, phys + off, r);
		if (err == ACPI_OK)
			break;
		if (rejected++ == 0) {
			rejected_phys = phys + off;
			rejected_err = err;
		}
		err = ACPI_E_NOT_FOUND;
	}
	if (err != ACPI_OK)
		memset(r, 0, sizeof *r);
	r->rejected = rejected;
	r->rejected_phys = rejected_phys;
	r->rejected_err = rejected_err;
	return err;
}

/**
 * ## Reading a table's header before the table
 *
 * The kernel cannot map "the table at this address" in one step: it
 * does not know the table's size until it has read the header. So it
 * maps the 36 header bytes, and acpi_header_read() decodes them and
 * checks Length before anyone reads further. A Length below 36 would
 * make the table end inside its own header; one above ACPI_TABLE_MAX
 * is a corrupt field. Then the kernel maps Length bytes and
 * acpi_table_check() checks the whole table.
 */
int acpi_header_read(const void *p, size_t avail, struct acpi_header *h)
{
	const uint8_t *b = p;

	if (avail < ACPI_HEADER_SIZE)
		return ACPI_E_TRUNCATED;
	memcpy(h->sig, b, 4);
	h->length = acpi_get32(b + 4);
	h->revision = b[8];
	memcpy(h->oem, b + 10, 6);
	memcpy(h->oem_table, b + 16, 8);
	h->oem_revision = acpi_get32(b + 24);
	memcpy(h->creator, b + 28, 4);
	h->creator_revision = acpi_get32(b + 32);
	if (h->length < ACPI_HEADER_SIZE || h->length > ACPI_TABLE_MAX)
		return ACPI_E_LENGTH;
	return ACPI_OK;
}

int acpi_table_check(const void *p, size_t avail, const char *sig,
		     struct acpi_header *h)
{
	struct acpi_header local;
	int err;

	if (h == NULL)
		h = &local;
	err = acpi_header_read(p, avail, h);
	if (err != ACPI_OK)
		return err;
	if (h->length > avail)
		return ACPI_E_TRUNCATED;
	if (sig != NULL && memcmp(h->sig, sig, 4) != 0)
		return ACPI_E_SIGNATURE;
	if (acpi_checksum(p, h->length) != 0)
		return ACPI_E_CHECKSUM;
	return ACPI_OK;
}

/**
 * ## The root table
 *
 * After its header, a root table is nothing but addresses: 4 bytes
 * each in the RSDT, 8 in the XSDT, as many as Length leaves room for.
 * A Length that leaves a piece of an entry over means the table is
 * not what it claims, and it is rejected rather than cut.
 */
int acpi_root_check(const void *p, size_t avail, unsigned entry_size,
		    size_t *count)
{
	struct acpi_header h;
	int err;

	err = acpi_table_check(p, avail, entry_size == 8 ? "XSDT" : "RSDT",
			       &h);
	if (err != ACPI_OK)
		return err;
	if ((h.length - ACPI_HEADER_SIZE) % entry_size != 0)
		return ACPI_E_LENGTH;
	if ((h.length - ACPI_HEADER_SIZE) / entry_size > ACPI_ROOT_MAX)
		return ACPI_E_FULL;
	*count = (h.length - ACPI_HEADER_SIZE) / entry_size;
	return ACPI_OK;
}

uint64_t acpi_root_entry(const void *root, unsigned entry_size, size_t i)
{
	const uint8_t *e = (const uint8_t *)root + ACPI_HEADER_SIZE +
			   i * entry_size;

	return entry_size == 8 ? acpi_get64(e) : acpi_get32(e);
}

/**
 * ## The walk
 *
 * acpi_tables_load() follows the chain with the two hooks. For one
 * table, in steps:
 *
 * 1. An address of 0 is an unused entry (or a bug): skipped.
 * 2. Map the 36-byte header and read it (acpi_header_read()).
 * 3. Map the whole table, Length bytes, and check it
 *    (acpi_table_check()); its data pointer is set only now.
 */
static void load_table(const struct acpi_env *env, uint64_t phys,
		       struct acpi_table *t)
{
	const void *p;

	memset(t, 0, sizeof *t);
	t->phys = phys;
	if (phys == 0) {
		t->err = ACPI_E_NULL;
		return;
	}
	if (phys > UINT64_MAX - ACPI_HEADER_SIZE ||
	    (p = env->map(phys, ACPI_HEADER_SIZE)) == NULL) {
		t->err = ACPI_E_UNMAPPED;
		return;
	}
	t->err = acpi_header_read(p, ACPI_HEADER_SIZE, &t->hdr);
	t->have_header = true;
	if (t->err != ACPI_OK)
		return;
	if (phys > UINT64_MAX - t->hdr.length ||
	    (p = env->map(phys, t->hdr.length)) == NULL) {
		t->err = ACPI_E_UNMAPPED;
		return;
	}
	t->err = acpi_table_check(p, t->hdr.length, NULL, &t->hdr);
	if (t->err == ACPI_OK)
		t->data = p;
}

/* Load a root table (entry_size 4: RSDT, 8: XSDT); on success set
 * *count. A table that loads but is not a valid root table of this
 * kind keeps the error and loses its data pointer. */
static int load_root(const struct acpi_env *env, uint64_t phys,
		     unsigned entry_size, struct acpi_table *t,
		     size_t *count)
{
	load_table(env, phys, t);
	if (t->err == ACPI_OK) {
		t->err = acpi_root_check(t->data, t->hdr.length, entry_size,
					 count);
		if (t->err != ACPI_OK)
			t->data = NULL;
	}
	return t->err;
}

/**
 * Which root table: the XSDT when the RSDP is revision 2 or more and
 * its XsdtAddress is not 0, as the spec says; if that XSDT fails its
 * checks, the RSDT, when the RSDP names one. Both lists name the same
 * tables, so falling back loses nothing but addresses above 4 GiB.
 * The list of tables is allocated to the root table's size: no fixed
 * array, no limit beyond ACPI_ROOT_MAX.
 */
int acpi_tables_load(const struct acpi_rsdp *rsdp,
		     const struct acpi_env *env, struct acpi_tables *t)
{
	const struct acpi_table *root;
	unsigned entry_size = 4;
	size_t count = 0;
	int err = ACPI_E_NULL;

	memset(t, 0, sizeof *t);
	t->rsdp = *rsdp;
	if (rsdp->revision >= 2 && rsdp->xsdt != 0) {
		err = load_root(env, rsdp->xsdt, 8, &t->xsdt, &count);
		t->use_xsdt = err == ACPI_OK;
		entry_size = 8;
	}
	if (!t->use_xsdt && rsdp->rsdt != 0) {
		err = load_root(env, rsdp->rsdt, 4, &t->rsdt, &count);
		entry_size = 4;
	}
	if (err != ACPI_OK)
		return err;
	root = t->use_xsdt ? &t->xsdt : &t->rsdt;
	if (count > 0) {
		t->table = env->alloc(count * sizeof *t->table);
		if (t->table == NULL)
			return ACPI_E_NO_MEMORY;
	}
	t->count = count;
	for (size_t i = 0; i < count; i++)
		load_table(env, acpi_root_entry(root->data, entry_size, i),
			   &t->table[i]);
	return ACPI_OK;
}

const struct acpi_table *acpi_table_find(const struct acpi_tables *t,
					 const char *sig)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->table[i].err == ACPI_OK &&
		    memcmp(t->table[i].hdr.sig, sig, 4) == 0)
			return &t->table[i];
	return NULL;
}

/**
 * ## Printing
 *
 * One line per table, in the order the kernel met them, for example
 * (QEMU's pc machine with 4 CPUs):
 *
 *     ACPI: RSDP 0x000f59d0 rev 0 BOCHS -> RSDT 0x7ffe1bef
 *     ACPI: RSDT 0x7ffe1bef    52 bytes rev 1 BOCHS  BXPC
 *     ACPI: FACP 0x7ffe1a8b   116 bytes rev 1 BOCHS  BXPC
 *     ACPI: APIC 0x7ffe1aff   144 bytes rev 1 BOCHS  BXPC
 *     ACPI: HPET 0x7ffe1b8f    56 bytes rev 1 BOCHS  BXPC
 *     ACPI: WAET 0x7ffe1bc7    40 bytes rev 1 BOCHS  BXPC
 *
 * and for a table that fails, its signature if the header could be
 * read (`????` if not) and the reason:
 *
 *     ACPI: HPET 0x7ffe1b8f    56 bytes: bad checksum, skipped
 *
 * Text from the tables goes through acpi_text(), so a corrupt OEM
 * field cannot put control characters on the console.
 */
void acpi_text(char *out, const char *field, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n && field[i] != '\0'; i++) {
		unsigned char c = (unsigned char)field[i];

		out[len++] = c >= 0x20 && c < 0x7F ? (char)c : '?';
	}
	while (len > 0 && out[len - 1] == ' ')
		len--;
	out[len] = '\0';
}

static void print_table(const char *name, const struct acpi_table *t,
			acpi_print_fn print)
{
	char sig[5], oem[7], oem_table[9];

	if (!t->have_header) {
		print("ACPI: %s 0x%08lx: %s, skipped\n", name,
		      (unsigned long)t->phys, acpi_strerror(t->err));
		return;
	}
	acpi_text(sig, t->hdr.sig, 4);
	if (t->err != ACPI_OK) {
		print("ACPI: %-4s 0x%08lx %5u bytes: %s, skipped\n", sig,
		      (unsigned long)t->phys, t->hdr.length,
		      acpi_strerror(t->err));
		return;
	}
	acpi_text(oem, t->hdr.oem, 6);
	acpi_text(oem_table, t->hdr.oem_table, 8);
	print("ACPI: %-4s 0x%08lx %5u bytes rev %u %-6s %s\n", sig,
	      (unsigned long)t->phys, t->hdr.length, t->hdr.revision, oem,
	      oem_table);
}

void acpi_print_tables(const struct acpi_tables *t, acpi_print_fn print)
{
	const struct acpi_rsdp *r = &t->rsdp;
	char oem[7];

	acpi_text(oem, r->oem, 6);
	if (r->revision >= 2)
		print("ACPI: RSDP 0x%08lx rev %u %s -> XSDT 0x%08lx, "
		      "RSDT 0x%08x\n", (unsigned long)r->phys, r->revision,
		      oem, (unsigned long)r->xsdt, r->rsdt);
	else
		print("ACPI: RSDP 0x%08lx rev %u %s -> RSDT 0x%08x\n",
		      (unsigned long)r->phys, r->revision, oem, r->rsdt);
	if (r->rejected > 0)
		print("ACPI: skipped %u RSDP candidate(s), the first at "
		      "0x%08lx: %s\n", r->rejected,
		      (unsigned long)r->rejected_phys,
		      acpi_strerror(r->rejected_err));
	if (t->xsdt.phys != 0)
		print_table("XSDT", &t->xsdt, print);
	if (t->rsdt.phys != 0)
		print_table("RSDT", &t->rsdt, print);
	for (size_t i = 0; i < t->count; i++)
		print_table("????", &t->table[i], print);
}
