/*
 * ktest.c: runs self-tests and scenarios, and reports over serial in the
 * one fixed format the test runner (tools/boottest) reads:
 *
 *     KTEST PASS <name>
 *     KTEST FAIL <name>: <why>
 *     KTEST DONE <passed> passed, <failed> failed
 *
 * then leaves QEMU through isa-debug-exit: "passed" if nothing failed.
 */
#include "ktest.h"
#include "fwcfg.h"
#include "kprintf.h"
#include "panic.h"
#include "string.h"
#include <stdarg.h>

/* Array ends, defined by linker.ld around the .selftests and
 * .scenarios input sections. */
extern const struct selftest __selftests_start[], __selftests_end[];
extern const struct scenario __scenarios_start[], __scenarios_end[];

static int passed, failed;
static char why[160];
static char scenario[32];

/* Format a failure message. The buffer is shared: one message at a time,
 * which is all a self-test needs (boot CPU only). */
const char *ktest_why(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return why;
}

void ktest_report(const char *name, const char *failure)
{
	if (failure) {
		failed++;
		kprintf("KTEST FAIL %s: %s\n", name, failure);
	} else {
		passed++;
		kprintf("KTEST PASS %s\n", name);
	}
}

_Noreturn void ktest_finish(void)
{
	kprintf("KTEST DONE %d passed, %d failed\n", passed, failed);
	qemu_exit(failed == 0 && passed > 0);
}

/* Read the scenario from fw_cfg once; NULL for a normal boot. */
static const char *scenario_read(void)
{
	static int state;             /* 0: not read; 1: none; 2: read */
	long n;

	if (state)
		return state == 2 ? scenario : NULL;
	state = 1;
	if (!fwcfg_present()) {
		kprintf("ktest: no fw_cfg device (not a virtual machine?), "
			"so no test scenario\n");
		return NULL;
	}
	n = fwcfg_read_file("opt/test", scenario, sizeof scenario - 1);
	if (n < 0)
		return NULL;
	if (n >= (long)sizeof scenario) {
		kprintf("ktest: scenario name longer than %d bytes\n",
			(int)sizeof scenario - 1);
		qemu_exit(false);
	}
	scenario[n] = 0;
	state = 2;
	return scenario;
}

/* The scenario the test runner asked for, or NULL for a normal boot. */
const char *ktest_scenario_name(void)
{
	return scenario_read();
}

static void run_selftests(void)
{
	const struct selftest *t;

	for (t = __selftests_start; t < __selftests_end; t++)
		ktest_report(t->name, t->run());
}

/* Scenario names are C identifiers (stack_overflow), boot tests have
 * dashes (stack-overflow); either spelling finds the scenario. */
static bool same_name(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !((*a == '-' || *a == '_') &&
				  (*b == '-' || *b == '_')))
			return false;
	return *a == *b;
}

/* A place in the boot path where a test may ask for a fault: with the
 * scenario "fault_<point>", execute an invalid instruction (#UD) right
 * here, so the test sees what a fault at this point of the boot gives.
 * Otherwise nothing happens. */
void ktest_fault_point(const char *point)
{
	const char *want = scenario_read();

	if (!want || memcmp(want, "fault_", 6) != 0 ||
	    !same_name(want + 6, point))
		return;
	kprintf("ktest: faulting on purpose at %s\n", point);
	__asm__ volatile("ud2");
}

/* Run the named scenario. Every scenario ends in qemu_exit, directly or
 * through a panic; an unknown name lists the known ones and fails. */
_Noreturn void ktest_run_scenario(const char *name)
{
	const struct scenario *s;

	kprintf("ktest: scenario '%s'\n", name);
	if (strcmp(name, "boot") == 0) {
		run_selftests();
		ktest_finish();
	}
	for (s = __scenarios_start; s < __scenarios_end; s++) {
		if (same_name(s->name, name)) {
			s->run();
			ktest_finish();
		}
	}
	kprintf("ktest: unknown scenario '%s'. Known scenarios:\n", name);
	kprintf("  %-16s %s\n", "boot", "run every self-test");
	for (s = __scenarios_start; s < __scenarios_end; s++)
		kprintf("  %-16s %s\n", s->name, s->what);
	qemu_exit(false);
}
