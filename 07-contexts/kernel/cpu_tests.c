/*
 * cpu_tests.c: self-tests of cpu.c, run by the "boot" scenario: every
 * feature the kernel relies on is really on.
 */
#include "cpu.h"
#include "ktest.h"
#include "pat.h"
#include "x86.h"
#include <stddef.h>

/* The features of cpu.c's list, read back from the CPU. On an Intel
 * CPU the test also plays the firmware that set XD disable: it sets
 * the bit and runs cpu_init_features() again, which must clear it.
 * (tests/intel-cpu boots an Intel CPU to run that part.) */
SELFTEST(cpu_features_on)
{
	if (cpu_is_intel()) {
		wrmsr(MSR_IA32_MISC_ENABLE, rdmsr(MSR_IA32_MISC_ENABLE) |
					    MISC_ENABLE_XD_DISABLE);
		cpu_init_features();
		if (rdmsr(MSR_IA32_MISC_ENABLE) & MISC_ENABLE_XD_DISABLE)
			return "IA32_MISC_ENABLE.XD_DISABLE is still set";
	}
	if (rdmsr(MSR_IA32_PAT) != PAT_VALUE)
		return ktest_why("IA32_PAT is %lx",
				 (unsigned long)rdmsr(MSR_IA32_PAT));
	if (!(rdmsr(MSR_IA32_EFER) & EFER_NXE))
		return "EFER.NXE is clear";
	if (!(read_cr4() & CR4_PGE))
		return "CR4.PGE is clear";
	if (!(read_cr0() & CR0_WP))
		return "CR0.WP is clear";
	if (!(read_cr4() & CR4_MCE))
		return "CR4.MCE is clear";
	return NULL;
}
