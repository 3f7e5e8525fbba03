/*
 * fuzz/all.c: the five fuzz targets in one libFuzzer program. The
 * environment variable FUZZ_TARGET (rsdp, root, madt, chain or timer)
 * says which one a run fuzzes; fuzz/run sets it. One program instead
 * of five, because each would compile the same parsers with the same
 * sanitizers (2.3 CPU-seconds a build here), and the suite builds them
 * from scratch on every fresh clone.
 */
#define FUZZ_NO_ENTRY
#include "rsdp.c"
#include "root.c"
#include "madt.c"
#include "chain.c"
#include "timer.c"

#include <string.h>

static const struct {
	const char *name;
	void (*fuzz)(const uint8_t *data, size_t size);
} targets[] = {
	{ "rsdp", fuzz_rsdp }, { "root", fuzz_root }, { "madt", fuzz_madt },
	{ "chain", fuzz_chain }, { "timer", fuzz_timer },
};

static void (*target)(const uint8_t *data, size_t size);

/* libFuzzer calls this once, before any input. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *want = getenv("FUZZ_TARGET");

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
		if (want && strcmp(want, targets[i].name) == 0)
			target = targets[i].fuzz;
	if (target == NULL) {
		fprintf(stderr, "fuzz/all: FUZZ_TARGET=%s: not rsdp, root, "
			"madt, chain or timer\n", want ? want : "(unset)");
		exit(2);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	target(data, size);
	return 0;
}
