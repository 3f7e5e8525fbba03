/*
 * test_fuzz_inputs.c: the five fuzz targets in fuzz/, compiled with
 * gcc instead of clang's libFuzzer, run once on every saved input:
 * QEMU's tables, the hand-made corner cases and every crash input the
 * fuzzer ever found (tests/acpi/regress/). So a bug the fuzzer found
 * stays a regression test even on a machine without clang, and the
 * targets' own checks run under gcc's sanitizers too.
 *
 * Each target gets every file: a target must survive any bytes at
 * all, and an MADT read as a memory image is as good a test as any.
 * One case per directory; a failed FUZZ_CHECK aborts the program with
 * a message naming the input.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define FUZZ_NO_ENTRY
#include "../../fuzz/rsdp.c"
#include "../../fuzz/root.c"
#include "../../fuzz/madt.c"
#include "../../fuzz/chain.c"
#include "../../fuzz/timer.c"
#include "acpi_test.h"

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Run every target on every *.bin file of data_dir/dir; the number
 * of files. */
static int run_dir(const char *dir)
{
	static char names[256][128];
	char path[PATH_MAX + 256];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof path, "%s/%s", data_dir, dir);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < 256) {
		size_t len = strlen(e->d_name);

		if (len > 4 && len < sizeof names[0] &&
		    strcmp(e->d_name + len - 4, ".bin") == 0)
			memcpy(names[n++], e->d_name, len + 1);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof names[0], cmp_names);
	for (int i = 0; i < n; i++) {
		size_t size;
		uint8_t *b = read_data(dir, names[i], &size);

		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		fuzz_input_name = path;
		CHECKF(b != NULL, "cannot read %s", names[i]);
		if (b != NULL) {
			fuzz_rsdp(b, size);
			fuzz_root(b, size);
			fuzz_madt(b, size);
			fuzz_chain(b, size);
			fuzz_timer(b, size);
		}
		free(b);
	}
	return n;
}

int main(int argc, char **argv)
{
	(void)argc;
	data_dir_init(argv[0]);
	for (size_t i = 0; i < NCONFIGS; i++) {
		char dir[80];

		check_begin("fuzz_inputs/qemu/%s", qemu_configs[i].name);
		snprintf(dir, sizeof dir, "qemu/%s", qemu_configs[i].name);
		CHECKF(run_dir(dir) >= 8, "fewer files than a dump has");
		check_end();
	}
	check_begin("fuzz_inputs/corner");
	CHECK(run_dir("corner") > 0);
	check_end();
	/* Empty until the fuzzer finds a bug; then never empty again. */
	check_begin("fuzz_inputs/regress");
	run_dir("regress");
	check_end();
	return check_done("test_fuzz_inputs");
}
