/*
 * madt.c: the MADT parser: the CPUs, I/O APICs, interrupt source
 * overrides and NMI lines the firmware lists, in arrays sized from
 * the table.
 *
 * Pure logic, like acpi.c: it reads the bytes it is handed and gets
 * memory through an allocation hook. The kernel finds the table with
 * acpi_table_find(&tables, "APIC") and passes its bytes here.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acpi.h"
#include "madt.h"
#include "string.h"

/**
 * ## The MADT: a list of interrupt controllers
 *
 * The MADT (signature `APIC`) describes every interrupt controller in
 * the machine. Each CPU has one, its *local APIC*; the *I/O APICs*
 * collect the interrupts of devices and send each to some CPU's local
 * APIC. So the list of local APICs is the list of CPUs, and that is
 * what chapter 06 needs from ACPI: the kernel wakes each CPU by
 * sending a message to its local APIC's id.
 *
 * After the usual 36-byte header come two fields and then *records*,
 * back to back until the table's Length:
 *
 *     offset 36  Local Interrupt Controller Address (u32): where every
 *                CPU sees its own local APIC's registers (0xFEE00000)
 *     offset 40  Flags (u32): bit 0, PCAT_COMPAT, says the PC's old
 *                pair of 8259 interrupt controllers is there as well
 *     offset 44  records: type (u8), length (u8), then type-specific
 *                fields, `length` bytes in all
 *
 * The records this parser reads, with the sizes the spec gives them
 * and their fields after type and length:
 *
 * | type | record | bytes | fields |
 * |---:|---|---:|---|
 * | 0 | Processor Local APIC | 8 | uid, APIC id u8; flags u32 |
 * | 1 | I/O APIC | 12 | id u8, 0 u8; address, GSI base u32 |
 * | 2 | Interrupt Source Override | 10 | bus, IRQ u8; GSI u32; flags u16 |
 * | 4 | Local APIC NMI | 6 | uid u8; flags u16; LINT# u8 |
 * | 5 | Local APIC Address Override | 12 | 0 u16; address u64 |
 * | 9 | Processor Local x2APIC | 16 | 0 u16; id, flags, uid u32 |
 *
 * (A 0 is a reserved field.)
 *
 * QEMU 7.2 gives, on pc and q35 alike: one type 0 record per CPU, one
 * I/O APIC (id 0 at 0xFEC00000, GSI base 0), five overrides and one
 * NMI record, and no type 3, 5, 9 or 10. Some terms:
 *
 * - **ACPI Processor UID**: the name other ACPI tables use for a CPU.
 *   It is not the APIC id, although QEMU makes the two equal.
 * - **GSI**, a *global system interrupt*: interrupt inputs numbered
 *   across all I/O APICs; an I/O APIC with GSI base 24 and 24 inputs
 *   handles GSIs 24 to 47.
 * - **Interrupt source override**: on a PC, ISA device IRQ n arrives
 *   at GSI n unless an override says otherwise. QEMU's first one moves
 *   IRQ 0 (the PIT timer) to GSI 2; the other four keep IRQs 5, 9, 10
 *   and 11 on their own GSIs but change their *flags* to 0xD, the MPS
 *   INTI encoding of bits 0-1 = 01 (polarity: active high) and bits
 *   2-3 = 11 (trigger: level), where 00 in either field means "what
 *   the bus normally does" (ISA: active high, edge).
 * - **Local APIC NMI**: which pin of a CPU's local APIC (LINT0 or
 *   LINT1) the non-maskable interrupt comes in on; uid 0xFF means
 *   every CPU. QEMU: all CPUs, LINT1.
 * - **x2APIC**: the local APIC's newer mode, with 32-bit ids. Ids of
 *   255 and more exist only there, so a machine with that many CPUs
 *   lists them in type 9 records. QEMU's emulator (TCG) in version 7.2
 *   has no x2APIC, which is why 255 CPUs is its limit.
 *
 * Every other type is skipped by its length (types 3 and 10, the NMI
 * source and x2APIC NMI, are among them; the later ones describe
 * other architectures' controllers, or the wake-up mailbox of newer
 * machines).
 *
 * ## Records that lie about their length
 *
 * The length byte is the only way to find the next record, so a bad
 * one makes the rest of the table unreadable. A length of 0 would loop
 * forever on the same record; 1 would land inside the record itself.
 * A length that runs past the table's end would read beyond it. A
 * known type shorter than its spec size would read fields that are
 * not there. Each of these stops the parse with ACPI_E_RECORD, and
 * the offset, type and length of the culprit, for the error line.
 * A record *longer* than its type's size is accepted and its tail
 * skipped, because later revisions of ACPI have grown records.
 *
 * ## Which CPUs, and their index
 *
 * A processor record's flags say whether the CPU is *enabled*. QEMU
 * started with `-smp 4,maxcpus=8` lists eight CPUs, APIC ids 0 to 7,
 * with 4 to 7 not enabled: they are places where CPUs could be plugged
 * in while the machine runs. ACPI 6.3 added a second flag, *Online
 * Capable*, to tell such places from CPUs that will never work; before
 * it, the bit was reserved and 0. The kernel starts enabled CPUs only;
 * the others are kept in the list, and counted in the summary.
 *
 * The kernel needs its own numbering, an *index* 0, 1, 2, ... to
 * name its per-CPU data. The APIC id is not one: with `-smp
 * 6,sockets=2,cores=3` QEMU gives the APIC ids 0, 1, 2, 4, 5, 6. (An
 * APIC id is built from bit fields: thread, core, socket. Three cores
 * need a 2-bit core field, so the second socket's cores start at
 * 4.) So the parser puts the enabled CPUs first in `cpu[]`, in table
 * order, and a CPU's index is its position: 0 to nenabled - 1 with no
 * gaps, whatever the ids. madt_cpu_index() maps an APIC id back to an
 * index. The firmware should list the boot CPU first; the kernel does
 * not rely on that, and calls madt_set_boot_cpu() with the id it reads
 * from its own local APIC, so the boot CPU is always index 0.
 *
 * ## Duplicates
 *
 * Two records with the same APIC id would make the kernel start one
 * CPU twice: the second start-up message would reset a CPU that is
 * already running kernel code. A record whose id came earlier in the
 * table (in either record type) is skipped and counted, as is a record
 * with an id that names no CPU (0xFF, the xAPIC broadcast id, or
 * 0xFFFFFFFF). The check compares each CPU with those before it:
 * n^2 / 2 comparisons, 32,000 at QEMU's 255 CPUs, and a limit of
 * MADT_MAX_CPUS processor records keeps a corrupt table from making
 * that a hang.
 *
 * ## Count first, then fill
 *
 * The arrays are sized from the table, not fixed: madt_count() walks
 * the records once and counts each kind (checking every record on the
 * way), the caller allocates that much, and madt_parse() walks them
 * again to fill the arrays. madt_load() does all three, with one
 * allocation through the hook it is given (the kernel passes kmalloc).
 *
 * ## What Redox 0.3.5 does
 *
 * Redox reads record types 0, 1 and 2 and acts on type 0 only. It
 * takes each enabled local APIC's id as the CPU's number, and names
 * the boot CPU by the low byte of its APIC ID register, which holds
 * the id in its top byte, so it always reads 0. With sparse ids, or a
 * boot CPU whose id is not 0, those numbers go wrong: per-CPU data
 * set up for the numbers 0 to the CPU count misses every CPU whose id
 * is larger, and a boot CPU taken for id 0 would send a start-up
 * message to itself. Here the index is a position, and the boot CPU's
 * id is looked up.
 */

/* madt_load() carves the four arrays from one block, in this order. */
_Static_assert(sizeof(struct madt_cpu) % _Alignof(struct madt_ioapic) == 0,
	       "cpu[] keeps ioapic[] aligned");
_Static_assert(sizeof(struct madt_ioapic) %
	       _Alignof(struct madt_override) == 0,
	       "ioapic[] keeps override[] aligned");
_Static_assert(sizeof(struct madt_override) % _Alignof(struct madt_nmi)
	       == 0, "override[] keeps nmi[] aligned");

/* The size the spec gives each record type we read; 2 for the rest
 * (type and length). */
static uint8_t record_min_length(uint8_t type)
{
	switch (type) {
	case MADT_LAPIC:         return 8;
	case MADT_IOAPIC:        return 12;
	case MADT_OVERRIDE:      return 10;
	case MADT_LAPIC_NMI:     return 6;
	case MADT_LAPIC_ADDRESS: return 12;
	case MADT_X2APIC:        return 16;
	default:                 return 2;
	}
}

/* Check the record at offset off of a table of len bytes; on failure
 * note it in *m (if not NULL). */
static int record_check(const uint8_t *t, uint32_t len, uint32_t off,
			struct madt *m)
{
	uint8_t type = t[off];
	uint8_t rlen = len - off >= 2 ? t[off + 1] : 0;

	if (len - off >= 2 && rlen >= record_min_length(type) &&
	    rlen <= len - off)
		return ACPI_OK;
	if (m != NULL) {
		m->bad_offset = off;
		m->bad_type = type;
		m->bad_length = rlen;
	}
	return ACPI_E_RECORD;
}

/* Decode a type 0 or type 9 record; false if its id names no CPU. */
static bool record_cpu(const uint8_t *r, struct madt_cpu *c)
{
	c->type = r[0];
	if (r[0] == MADT_LAPIC) {
		c->uid = r[2];
		c->apic_id = r[3];
		c->flags = acpi_get32(r + 4);
		return c->apic_id != MADT_XAPIC_INVALID;
	}
	c->apic_id = acpi_get32(r + 4);
	c->flags = acpi_get32(r + 8);
	c->uid = acpi_get32(r + 12);
	return c->apic_id != MADT_X2APIC_INVALID;
}

static bool is_cpu_record(uint8_t type)
{
	return type == MADT_LAPIC || type == MADT_X2APIC;
}

int madt_count(const void *table, size_t avail, struct madt_counts *c,
	       struct madt *m)
{
	const uint8_t *t = table;
	struct acpi_header h;
	struct madt_cpu cpu;
	int err;

	memset(c, 0, sizeof *c);
	err = acpi_table_check(table, avail, "APIC", &h);
	if (err != ACPI_OK)
		return err;
	if (h.length < MADT_HEADER_SIZE)
		return ACPI_E_LENGTH;
	if (m != NULL)
		m->length = h.length;
	for (uint32_t off = MADT_HEADER_SIZE; off < h.length;
	     off += t[off + 1]) {
		err = record_check(t, h.length, off, m);
		if (err != ACPI_OK)
			return err;
		switch (t[off]) {
		case MADT_LAPIC:
		case MADT_X2APIC:
			if (record_cpu(t + off, &cpu)) {
				c->cpus++;
				c->enabled += cpu.flags & MADT_CPU_ENABLED;
			}
			break;
		case MADT_IOAPIC:    c->ioapics++; break;
		case MADT_OVERRIDE:  c->overrides++; break;
		case MADT_LAPIC_NMI: c->nmis++; break;
		}
	}
	return c->cpus > MADT_MAX_CPUS ? ACPI_E_FULL : ACPI_OK;
}

/* Is apic_id among the CPUs kept so far? The enabled ones are
 * cpu[0 .. e-1], the others cpu[first_off .. first_off + d - 1]. */
static bool cpu_seen(const struct madt *m, uint32_t apic_id, size_t e,
		     size_t first_off, size_t d)
{
	for (size_t i = 0; i < e; i++)
		if (m->cpu[i].apic_id == apic_id)
			return true;
	for (size_t i = first_off; i < first_off + d; i++)
		if (m->cpu[i].apic_id == apic_id)
			return true;
	return false;
}

/* The second walk: every record is known to be well-formed and every
 * array to be large enough. The enabled CPUs go to cpu[0 ..], the
 * others to cpu[c->enabled ..]; duplicates leave gaps, closed at the
 * end. */
static void fill(const uint8_t *t, const struct madt_counts *c,
		 struct madt *m)
{
	size_t e = 0, d = 0;
	struct madt_cpu cpu;

	for (uint32_t off = MADT_HEADER_SIZE; off < m->length;
	     off += t[off + 1]) {
		const uint8_t *r = t + off;

		if (is_cpu_record(r[0])) {
			if (!record_cpu(r, &cpu))
				m->invalid_ids++;
			else if (cpu_seen(m, cpu.apic_id, e, c->enabled, d))
				m->duplicates++;
			else if (cpu.flags & MADT_CPU_ENABLED)
				m->cpu[e++] = cpu;
			else
				m->cpu[c->enabled + d++] = cpu;
			continue;
		}
		switch (r[0]) {
		case MADT_IOAPIC:
			m->ioapic[m->nioapic++] = (struct madt_ioapic){
				.id = r[2], .address = acpi_get32(r + 4),
				.gsi_base = acpi_get32(r + 8) };
			break;
		case MADT_OVERRIDE:
			m->override[m->noverride++] = (struct madt_override){
				.bus = r[2], .irq = r[3],
				.gsi = acpi_get32(r + 4),
				.flags = acpi_get16(r + 8) };
			break;
		case MADT_LAPIC_NMI:
			m->nmi[m->nnmi++] = (struct madt_nmi){
				.uid = r[2], .flags = acpi_get16(r + 3),
				.lint = r[5] };
			break;
		case MADT_LAPIC_ADDRESS:
			m->lapic_address = acpi_get64(r + 4);
			m->lapic_overrides++;
			break;
		default:
			m->unknown++;
		}
	}
	if (e < c->enabled && d > 0)
		memmove(&m->cpu[e], &m->cpu[c->enabled], d * sizeof *m->cpu);
	m->nenabled = e;
	m->ncpu = e + d;
}

/* Clear everything but the caller's arrays and their sizes. */
static void madt_reset(struct madt *m)
{
	struct madt keep = *m;

	memset(m, 0, sizeof *m);
	m->cpu = keep.cpu;
	m->cpu_cap = keep.cpu_cap;
	m->ioapic = keep.ioapic;
	m->ioapic_cap = keep.ioapic_cap;
	m->override = keep.override;
	m->override_cap = keep.override_cap;
	m->nmi = keep.nmi;
	m->nmi_cap = keep.nmi_cap;
}

int madt_parse(const void *table, size_t avail, struct madt *m)
{
	const uint8_t *t = table;
	struct madt_counts c;
	int err;

	madt_reset(m);
	err = madt_count(table, avail, &c, m);
	if (err != ACPI_OK)
		return err;
	if (c.cpus > m->cpu_cap || c.ioapics > m->ioapic_cap ||
	    c.overrides > m->override_cap || c.nmis > m->nmi_cap)
		return ACPI_E_FULL;
	m->revision = t[8];
	m->lapic_address = acpi_get32(t + 36);
	m->flags = acpi_get32(t + 40);
	fill(t, &c, m);
	return ACPI_OK;
}

int madt_load(const void *table, size_t avail, void *(*alloc)(size_t),
	      struct madt *m)
{
	struct madt_counts c;
	size_t bytes;
	uint8_t *p;
	int err;

	memset(m, 0, sizeof *m);
	err = madt_count(table, avail, &c, m);
	if (err != ACPI_OK)
		return err;
	bytes = c.cpus * sizeof *m->cpu + c.ioapics * sizeof *m->ioapic +
		c.overrides * sizeof *m->override + c.nmis * sizeof *m->nmi;
	if (bytes > 0) {
		p = alloc(bytes);
		if (p == NULL)
			return ACPI_E_NO_MEMORY;
		m->cpu = (struct madt_cpu *)p;
		p += c.cpus * sizeof *m->cpu;
		m->ioapic = (struct madt_ioapic *)p;
		p += c.ioapics * sizeof *m->ioapic;
		m->override = (struct madt_override *)p;
		p += c.overrides * sizeof *m->override;
		m->nmi = (struct madt_nmi *)p;
	}
	m->cpu_cap = c.cpus;
	m->ioapic_cap = c.ioapics;
	m->override_cap = c.overrides;
	m->nmi_cap = c.nmis;
	return madt_parse(table, avail, m);
}

int madt_set_boot_cpu(struct madt *m, uint32_t apic_id)
{
	for (size_t i = 0; i < m->nenabled; i++) {
		if (m->cpu[i].apic_id == apic_id) {
			struct madt_cpu boot = m->cpu[i];

			memmove(&m->cpu[1], &m->cpu[0], i * sizeof *m->cpu);
			m->cpu[0] = boot;
			return ACPI_OK;
		}
	}
	return ACPI_E_NOT_FOUND;
}

long madt_cpu_index(const struct madt *m, uint32_t apic_id)
{
	for (size_t i = 0; i < m->nenabled; i++)
		if (m->cpu[i].apic_id == apic_id)
			return (long)i;
	return -1;
}

/**
 * ## Printing
 *
 * The summary names the enabled CPUs' APIC ids as runs, in index
 * order, so a sparse set shows at a glance. QEMU with `-smp
 * 6,sockets=2,cores=3` on q35 prints
 *
 *     MADT: 6 CPUs enabled, APIC ids 0-2,4-6; LAPIC 0xfee00000;
 *     1 I/O APIC; 5 IRQ overrides; 1 NMI; 8259 PICs present
 *
 * on one line (cut in two here). After a bad record, the line says
 * which record and why, and that the table is not used.
 */
static void append(char *buf, size_t *len, size_t cap, const char *s)
{
	while (*s != '\0' && *len + 1 < cap)
		buf[(*len)++] = *s++;
	buf[*len] = '\0';
}

static void append_u32(char *buf, size_t *len, size_t cap, uint32_t v)
{
	char digits[11];
	int n = 0;

	do {
		digits[9 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	digits[10] = '\0';
	append(buf, len, cap, &digits[10 - n]);
}

/* The enabled CPUs' APIC ids, as runs "0-2,4-6"; at most 8 runs, then
 * ",...". */
static void id_runs(const struct madt *m, char *buf, size_t cap)
{
	size_t len = 0, runs = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < m->nenabled; ) {
		size_t j = i;

		while (j + 1 < m->nenabled &&
		       m->cpu[j + 1].apic_id == m->cpu[j].apic_id + 1)
			j++;
		if (runs++ == 8) {
			append(buf, &len, cap, ",...");
			return;
		}
		if (i > 0)
			append(buf, &len, cap, ",");
		append_u32(buf, &len, cap, m->cpu[i].apic_id);
		if (j > i) {
			append(buf, &len, cap, "-");
			append_u32(buf, &len, cap, m->cpu[j].apic_id);
		}
		i = j + 1;
	}
}

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

static void print_error(const struct madt *m, int err,
			acpi_print_fn print)
{
	const char *why;

	if (err != ACPI_E_RECORD) {
		print("MADT: %s; MADT not used\n", err == ACPI_E_FULL ?
		      "more CPU records than this kernel supports" :
		      acpi_strerror(err));
		return;
	}
	if (m->length - m->bad_offset < 2)
		why = "its length byte is past the end of the table";
	else if (m->bad_length < 2)
		why = "length below 2";
	else if (m->bad_length < record_min_length(m->bad_type))
		why = "shorter than its type's size";
	else
		why = "runs past the end of the table";
	print("MADT: bad record at offset %u (type %u, length %u): %s; "
	      "MADT not used\n", m->bad_offset, m->bad_type, m->bad_length,
	      why);
}

void madt_print_summary(const struct madt *m, int err,
			acpi_print_fn print)
{
	char ids[200];
	size_t disabled = m->ncpu - m->nenabled, online_capable = 0;

	if (err != ACPI_OK) {
		print_error(m, err, print);
		return;
	}
	for (size_t i = m->nenabled; i < m->ncpu; i++)
		online_capable += (m->cpu[i].flags &
				   MADT_CPU_ONLINE_CAPABLE) != 0;
	id_runs(m, ids, sizeof ids);
	print("MADT: %zu CPU%s enabled%s%s", m->nenabled,
	      plural(m->nenabled), m->nenabled > 0 ? ", APIC ids " : "",
	      ids);
	if (disabled > 0)
		print("; %zu disabled (%zu online-capable)", disabled,
		      online_capable);
	print("; LAPIC 0x%08lx; %zu I/O APIC%s; %zu IRQ override%s; "
	      "%zu NMI%s", (unsigned long)m->lapic_address, m->nioapic,
	      plural(m->nioapic), m->noverride, plural(m->noverride),
	      m->nnmi, plural(m->nnmi));
	if (m->flags & MADT_PCAT_COMPAT)
		print("; 8259 PICs present");
	if (m->duplicates > 0)
		print("; skipped %zu duplicate APIC id%s", m->duplicates,
		      plural(m->duplicates));
	if (m->invalid_ids > 0)
		print("; skipped %zu invalid APIC id%s", m->invalid_ids,
		      plural(m->invalid_ids));
	if (m->unknown > 0)
		print("; skipped %zu record%s of other types", m->unknown,
		      plural(m->unknown));
	print("\n");
}

void madt_print_cpus(const struct madt *m, acpi_print_fn print)
{
	for (size_t i = 0; i < m->ncpu; i++) {
		const struct madt_cpu *c = &m->cpu[i];
		const char *state = c->flags & MADT_CPU_ENABLED ? "enabled"
			: c->flags & MADT_CPU_ONLINE_CAPABLE ?
			"disabled, online-capable" : "disabled";

		if (i < m->nenabled)
			print("CPU %3zu: APIC id %3u, ACPI uid %3u, %s%s\n", i,
			      c->apic_id, c->uid, state,
			      c->type == MADT_X2APIC ? " (x2APIC)" : "");
		else
			print("CPU   -: APIC id %3u, ACPI uid %3u, %s%s\n",
			      c->apic_id, c->uid, state,
			      c->type == MADT_X2APIC ? " (x2APIC)" : "");
	}
}
