## # Fuzzing the ACPI parsers
##
## Included by the chapter's Makefile after tools/chapter.mk:
##
## - `make fuzz`: a bounded campaign, FUZZ_RUNS executions (default
##   10^6) of each of the five targets in fuzz/ (rsdp, root, madt,
##   chain, timer), under `nice`; prints the executions, the new
##   coverage and any crash per target;
## - `make fuzz-smoke`: the same for FUZZ_SECONDS (default 1) second(s)
##   per target, with PASS/FAIL lines for the test suite, or a SKIP
##   line when clang's libFuzzer is not installed.
##
## fuzz/run does the work; it builds the five targets into one program,
## build/fuzz/all (fuzz/all.c: FUZZ_TARGET in the environment picks the
## target), by the rule below: clang, libFuzzer, AddressSanitizer and
## UBSan, every UBSan finding fatal.
FUZZ_CC ?= clang
FUZZ_RUNS ?= 1000000
FUZZ_SECONDS ?= 1
FUZZ_CFLAGS := -std=gnu11 -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Wall -Wextra -Werror -DHOST_TEST -I kernel \
	$(FUZZ_INCLUDES)

.PHONY: fuzz fuzz-smoke
$(B)/fuzz/all: $(wildcard fuzz/*.c) fuzz/fuzz.h \
		$(wildcard kernel/*.c kernel/*.h tests/host/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/all.c

fuzz:
	fuzz/run --runs $(FUZZ_RUNS)

fuzz-smoke:
	@fuzz/run --seconds $(FUZZ_SECONDS)
