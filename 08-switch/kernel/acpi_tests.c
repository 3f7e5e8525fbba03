/*
 * acpi_tests.c: self-tests of ACPI in the running kernel: the tables
 * were found, checked and mapped as fwmap.c promises, and the MADT's
 * CPUs are the CPUs QEMU was told to make.
 */
#include "acpi_setup.h"
#include "fwmap.h"
#include "ktest.h"
#include "lapic.h"
#include "paging.h"
#include "string.h"
#include "vm.h"
#include "x86.h"

/* The MADT and the FADT are there and checked, every table's pages
 * are mapped read-only and no-execute, and the local APIC's page
 * read-write and uncached (PCD and PWT: PAT entry 3). */
SELFTEST(acpi_tables_mapped_as_promised)
{
	const struct acpi_table *t[2] = { acpi_find("APIC"),
					  acpi_find("FACP") };
	struct page_info pi;

	for (int i = 0; i < 2; i++) {
		uint64_t va;

		if (t[i] == NULL)
			return i ? "no FADT" : "no MADT";
		va = (uint64_t)t[i]->data;
		if (va != FW_TABLES + t[i]->phys)
			return ktest_why("table at %lx, not in the window",
					 (unsigned long)va);
		if (page_translate(kernel_pml4, va, &pi) != 0 ||
		    (pi.flags & PTE_W) || !(pi.flags & PTE_NX))
			return ktest_why("table page flags %lx",
					 (unsigned long)pi.flags);
	}
	if (page_translate(kernel_pml4, FW_MMIO + lapic_base(), &pi) != 0 ||
	    !(pi.flags & PTE_W) || !(pi.flags & PTE_NX) ||
	    (pi.flags & (PTE_PCD | PTE_PWT | PTE_PAT)) != (PTE_PCD | PTE_PWT))
		return ktest_why("LAPIC page flags %lx",
				 (unsigned long)pi.flags);
	return NULL;
}

/* A device range that is RAM is refused: it would alias write-back
 * memory with an uncached mapping. */
SELFTEST(fwmap_refuses_ram_as_mmio)
{
	if (fw_map_mmio(0x100000, 4096) != NULL)
		return "mapped the kernel's own frames uncached";
	return NULL;
}

/* fw_cfg, QEMU's configuration interface: key 0x05 is the number of
 * CPUs QEMU starts with (-smp N), key 0x0F one more than the highest
 * APIC id of any CPU the machine may ever have (with maxcpus=M and a
 * topology; SeaBIOS sizes its tables by it). Port 0x510 selects a
 * key, 0x511 reads its bytes. */
static uint16_t fwcfg_u16(uint16_t key)
{
	uint16_t v;

	outw(0x510, key);
	v = inb(0x511);
	return v | (uint16_t)(inb(0x511) << 8);
}

/* The MADT enables the CPUs QEMU was told to start, and its highest
 * APIC id, enabled or not, is QEMU's highest. */
SELFTEST(madt_matches_what_qemu_was_given)
{
	const struct madt *m = acpi_madt();
	unsigned boot = fwcfg_u16(0x05), limit = fwcfg_u16(0x0F);
	uint32_t top = 0;

	if (m == NULL)
		return "no MADT";
	for (size_t i = 0; i < m->ncpu; i++)
		if (m->cpu[i].apic_id > top)
			top = m->cpu[i].apic_id;
	if (m->nenabled != boot || top + 1 != limit)
		return ktest_why("MADT: %zu enabled, APIC ids up to %u; "
				 "QEMU: %u, up to %u", m->nenabled, top, boot,
				 limit - 1);
	return NULL;
}

/* The boot matrix of tests/smp.tests boots many machines; its
 * scenarios run only this chapter's self-tests, the ones whose names
 * start with given words. */
extern const struct selftest __selftests_start[], __selftests_end[];

static bool starts_with(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strlen(s) >= n && memcmp(s, prefix, n) == 0;
}

static void run_starting_with(const char *const *prefixes, size_t n)
{
	for (const struct selftest *t = __selftests_start;
	     t < __selftests_end; t++)
		for (size_t i = 0; i < n; i++)
			if (starts_with(t->name, prefixes[i]))
				ktest_report(t->name, t->run());
}

SCENARIO(cpus, "this chapter's self-tests: ACPI, LAPIC, clock, CPUs")
{
	static const char *const prefixes[] = {
		"acpi_", "fwmap_", "madt_", "lapic_", "pic_", "clock_",
		"udelay_", "percpu_", "gs_", "smp_", "spinlock_", "tlb_",
		"stress_",
	};

	run_starting_with(prefixes, sizeof prefixes / sizeof *prefixes);
}

/* For the biggest machine (255 CPUs): the self-tests whose work grows
 * with the number of CPUs, the rest being the same on every machine
 * (and run on all the others). A TCG CPU costs the host a thread; the
 * whole `cpus` scenario at 255 CPUs cost 44 CPU-seconds, this 1/3 of
 * it. */
SCENARIO(cpus_many, "the self-tests that grow with the CPUs: MADT, CPUs")
{
	static const char *const prefixes[] = {
		"madt_", "percpu_", "smp_", "stress_",
	};

	run_starting_with(prefixes, sizeof prefixes / sizeof *prefixes);
}
