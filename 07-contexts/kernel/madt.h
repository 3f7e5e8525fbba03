/*
 * madt.h: the MADT, the ACPI table that lists the CPUs and the
 * interrupt controllers.
 *
 * madt_load() turns the table's bytes into arrays sized from the
 * table: the CPUs, the I/O APICs, the interrupt source overrides and
 * the local APIC NMI lines. Pure logic, like acpi.c: it reads only the
 * bytes it is given and allocates through a hook. madt.c explains the
 * records; tests/host/test_madt.c tests them.
 */
#ifndef MADT_H
#define MADT_H

#include <stddef.h>
#include <stdint.h>

#include "acpi.h"

/* The MADT's fixed part (ACPI spec, "Multiple APIC Description Table"):
 * the table header, Local Interrupt Controller Address (u32, offset
 * 36), Flags (u32, offset 40); the records start at offset 44. */
#define MADT_HEADER_SIZE 44u
#define MADT_PCAT_COMPAT 1u  /* Flags bit 0, PCAT_COMPAT: the PC's two
                                8259 PICs are there too (mask them) */

/* Record types ("Interrupt Controller Structure Types") we read, with
 * the length each has in the spec. A record may be longer (a later
 * revision may add fields), never shorter. */
#define MADT_LAPIC         0  /* Processor Local APIC, 8 bytes */
#define MADT_IOAPIC        1  /* I/O APIC, 12 */
#define MADT_OVERRIDE      2  /* Interrupt Source Override, 10 */
#define MADT_LAPIC_NMI     4  /* Local APIC NMI, 6 */
#define MADT_LAPIC_ADDRESS 5  /* Local APIC Address Override, 12 */
#define MADT_X2APIC        9  /* Processor Local x2APIC, 16 */

/* Local APIC Flags, in records of types 0 and 9. */
#define MADT_CPU_ENABLED        1u  /* Enabled: the CPU can be used */
#define MADT_CPU_ONLINE_CAPABLE 2u  /* Online Capable (ACPI 6.3): not
                                       enabled, but can be later */

/* APIC ids that name no CPU: 0xFF is the xAPIC broadcast id. */
#define MADT_XAPIC_INVALID  0xFFu
#define MADT_X2APIC_INVALID 0xFFFFFFFFu

/* Local APIC NMI: this uid means every CPU. */
#define MADT_NMI_ALL_CPUS 0xFFu

/* Our limit: more processor records than this is an error (madt.c,
 * "Duplicates"). Linux's largest x86 build supports 8192 CPUs. */
#define MADT_MAX_CPUS 8192u

struct madt_cpu {
	uint32_t apic_id;  /* its local APIC's id: 8 bits in a type 0
	                      record, 32 in a type 9 */
	uint32_t uid;      /* ACPI Processor UID, which other tables and
	                      the NMI records use to name it */
	uint32_t flags;    /* MADT_CPU_*, exactly as in the record */
	uint8_t type;      /* MADT_LAPIC or MADT_X2APIC */
};

struct madt_ioapic {
	uint8_t id;         /* I/O APIC ID */
	uint32_t address;   /* its registers, physical */
	uint32_t gsi_base;  /* the first global system interrupt it
	                       handles */
};

/* "ISA interrupt irq arrives at global system interrupt gsi", e.g.
 * QEMU's IRQ0 (the PIT) -> GSI 2. flags: MPS INTI flags, bits 0-1
 * polarity, bits 2-3 trigger mode (madt.c). */
struct madt_override {
	uint8_t bus;   /* 0: ISA */
	uint8_t irq;   /* Source: the ISA IRQ */
	uint32_t gsi;  /* Global System Interrupt */
	uint16_t flags;
};

/* "The NMI arrives at LINT pin lint of CPU uid". */
struct madt_nmi {
	uint8_t uid;    /* ACPI Processor UID, or MADT_NMI_ALL_CPUS */
	uint16_t flags; /* MPS INTI flags, as above */
	uint8_t lint;   /* 0: LINT0, 1: LINT1 */
};

/*
 * The parsed MADT.
 *
 * Invariants after a successful madt_parse() or madt_load():
 * - cpu[0 .. nenabled-1] are the enabled CPUs, cpu[nenabled .. ncpu-1]
 *   the others, each group in table order; a CPU's *index* is its
 *   position in cpu[], so the enabled CPUs have the dense indices
 *   0 .. nenabled-1, whatever their APIC ids are (madt_set_boot_cpu()
 *   then moves the boot CPU to index 0);
 * - no two entries of cpu[] have the same apic_id, and none has an
 *   invalid one;
 * - lapic_address is the Local APIC Address Override's, if the table
 *   has one, else the 32-bit field's.
 */
struct madt {
	uint32_t length;          /* the table's Length */
	uint8_t revision;
	uint32_t flags;           /* MADT_PCAT_COMPAT */
	uint64_t lapic_address;   /* the local APICs' registers */
	int lapic_overrides;      /* type 5 records seen */

	struct madt_cpu *cpu;
	size_t ncpu, nenabled, cpu_cap;
	struct madt_ioapic *ioapic;
	size_t nioapic, ioapic_cap;
	struct madt_override *override;
	size_t noverride, override_cap;
	struct madt_nmi *nmi;
	size_t nnmi, nmi_cap;

	size_t unknown;           /* records of other types, skipped */
	size_t duplicates;        /* CPU records whose APIC id came
	                             earlier: skipped */
	size_t invalid_ids;       /* CPU records with an invalid id */

	/* When a record is bad (ACPI_E_RECORD): where, and what. */
	uint32_t bad_offset;
	uint8_t bad_type, bad_length;
};

/* How much room the arrays need (upper bounds: duplicates and invalid
 * ids are still counted here). enabled counts the CPU records with the
 * Enabled flag. */
struct madt_counts {
	size_t cpus, enabled, ioapics, overrides, nmis;
};

/* Check the table (acpi_table_check() with "APIC", Length >= 44) and
 * every record, and count them. On ACPI_E_RECORD, *m (if not NULL)
 * says where. */
int madt_count(const void *table, size_t avail, struct madt_counts *c,
	       struct madt *m);

/* Parse into arrays the caller provides: set m->cpu, m->cpu_cap and
 * the other three pairs first (a pointer may be NULL when its cap is
 * 0). ACPI_E_FULL if madt_count()'s numbers do not fit. On any error
 * the arrays' contents are not to be used. */
int madt_parse(const void *table, size_t avail, struct madt *m);

/* madt_count(), one alloc() for all four arrays, madt_parse(). */
int madt_load(const void *table, size_t avail, void *(*alloc)(size_t),
	      struct madt *m);

/* Move the enabled CPU with this APIC id (the boot CPU's, read from
 * its local APIC) to index 0, the others keeping their order.
 * ACPI_E_NOT_FOUND if no enabled CPU has it. */
int madt_set_boot_cpu(struct madt *m, uint32_t apic_id);

/* The index of the CPU with this APIC id, or -1. */
long madt_cpu_index(const struct madt *m, uint32_t apic_id);

/* One summary line, or after an error err, one line saying what was
 * wrong. madt_print_cpus(): one line per CPU. */
void madt_print_summary(const struct madt *m, int err,
			acpi_print_fn print);
void madt_print_cpus(const struct madt *m, acpi_print_fn print);

#endif /* MADT_H */
