## # Shared build rules for every chapter
##
## Included by each chapter's Makefile, with the chapter directory as
## the current directory. Everything built goes to `build/`.
##
## The disk image is made of three parts, one after the other:
##
##     sector 0        boot/stage1.asm   (the boot sector)
##     sectors 1..n    boot/stage2.asm   (n: stage 2 knows its length)
##     after that      build/kernel.stripped.elf
##
## then padded with zeros to at least 1 MiB, because QEMU's q35 machine
## cannot boot from a disk smaller than 1008 sectors. The ELF that goes on
## the disk has its debug information stripped (the loader would skip it
## anyway); gdb reads the full `build/kernel.elf`.

TOOLS := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
SHELL := /bin/bash
B := build

CC := gcc
LD := ld
NASM := nasm
OPT ?= -Og

## The kernel's C flags, one reason each:
## `-ffreestanding -nostdlib`: no C library, no hosted assumptions;
## `-mno-red-zone`: interrupts would overwrite the 128 bytes below RSP
## that the System V ABI otherwise lets functions use;
## `-mgeneral-regs-only`: no SSE/x87 code, so the kernel never has to
## save floating-point state on its own behalf;
## `-fno-omit-frame-pointer`: RBP chains make backtraces possible;
## `-fno-stack-protector`: there is no runtime to support it;
## `STACK_FLAGS` (below): guarding the stacks;
## `-fpie`: RIP-relative code, see kernel/linker.ld;
## `-fno-tree-loop-distribute-patterns`: stops gcc from turning the loop
## inside memset into a call to memset;
## `-Og -g`: optimised only as far as keeps gdb stepping line by line
## (`make OPT=-O2` for benchmarks).
## `STACK_FLAGS`: `-fstack-clash-protection` makes a function that
## moves RSP down by more than a page touch every page on the way, so an
## overflow lands in the guard page below a kernel stack instead of
## stepping over it; `-Wframe-larger-than=1024` refuses such frames in
## the first place (an error, with -Werror): a large buffer belongs in
## static memory, not on a 16 KiB interrupt stack.
STACK_FLAGS := -fstack-clash-protection -Wframe-larger-than=1024
CFLAGS := -std=gnu11 -ffreestanding -nostdlib -mno-red-zone \
	-mgeneral-regs-only -fno-omit-frame-pointer -fno-stack-protector \
	$(STACK_FLAGS) -fpie -fno-asynchronous-unwind-tables \
	-fno-tree-loop-distribute-patterns \
	-Wall -Wextra -Werror -g $(OPT) -MMD -MP
## `make OPT=-O2` (or -O3) also defines OPTIMISED_BUILD, which leaves
## out debug checks that cost time (the heap's, from chapter 05 on).
CFLAGS += $(if $(filter -O2 -O3,$(OPT)),-DOPTIMISED_BUILD)
## The linker flags: a static executable with 4 KiB-aligned segments.
## `--no-relax`: with -fpie, gcc loads the address of a function defined
## in another file from a global offset table (GOT). The linker would
## try to turn that load into an instruction with a 32-bit absolute
## address, which cannot hold ours (0xFFFFFF00...), and fail; so the GOT
## stays, in .data (kernel/linker.ld), costing one load per such use.
LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack \
	--build-id=none --no-relax -T kernel/linker.ld
HOSTCFLAGS := -std=gnu11 -g -O1 -fsanitize=address,undefined \
	-fno-sanitize-recover=all -Wall -Wextra -Werror -DHOST_TEST \
	-I kernel

KERNEL_C := $(sort $(wildcard kernel/*.c))
KERNEL_ASM := $(sort $(wildcard kernel/*.asm))
KERNEL_OBJ := $(KERNEL_C:%.c=$(B)/%.o) $(KERNEL_ASM:%.asm=$(B)/%.asm.o)
HOST_TESTS := $(patsubst tests/host/%.c,$(B)/host/%,\
	$(sort $(wildcard tests/host/test_*.c)))

.PHONY: all run gdb gdb-boot test hosttest boottest gdbtest boot-log clean
.PHONY: FORCE
all: $(B)/disk.img $(B)/kernel.elf $(B)/boot.elf

## The flags are an input of every object, like its source: `build/flags`
## holds those of the last build and is rewritten only when they change,
## so `make OPT=-O0` after a normal build recompiles everything (no
## `make clean` needed), and the next plain `make` goes back to -Og.
FLAGS = $(CC) $(CFLAGS) | $(LD) $(LDFLAGS) | $(NASM)
$(B)/flags: FORCE
	@mkdir -p $(@D)
	@echo '$(FLAGS)' | cmp -s - $@ || echo '$(FLAGS)' >$@

## The NASM side of `bootinfo.h`: each `#define NAME VALUE` becomes
## `%define NAME VALUE`; the C parts are dropped.
$(B)/bootinfo.inc: kernel/bootinfo.h
	@mkdir -p $(@D)
	sed -n 's/^#define \([A-Z0-9_]*\) \([^/]*[^ /]\).*/%define \1 \2/p' \
		$< > $@

## NASM also writes a listing (`build/stage1.lst`, `build/stage2.lst`):
## every instruction with its offset, for real-mode debugging in gdb;
## and a map of every label's address (`build/stage1.map`), from which
## tools/bootsyms makes `build/boot.elf`: the labels as symbols, which
## `make gdb` loads, so that `break *e820_collect` works in stage 2.
MAP = --before '[map symbols $(@:.bin=.map)]'
$(B)/stage1.bin: boot/stage1.asm $(B)/bootinfo.inc $(B)/flags
	$(NASM) -f bin -I $(B)/ -l $(B)/stage1.lst $(MAP) -o $@ $<

$(B)/stage2.bin: boot/stage2.asm $(wildcard boot/*.inc) $(B)/bootinfo.inc \
		$(B)/flags
	$(NASM) -f bin -I boot/ -I $(B)/ -l $(B)/stage2.lst $(MAP) -o $@ $<

STAGE2_ADDR = $(shell sed -n \
	's/^%define STAGE2_ADDR \(0x[0-9A-Fa-f]*\).*/\1/p' $(B)/bootinfo.inc)
$(B)/boot.elf: $(B)/stage1.bin $(B)/stage2.bin $(TOOLS)/bootsyms
	$(TOOLS)/bootsyms $@ stage1 0x7c00 $(B)/stage1.bin $(B)/stage1.map \
		stage2 $(STAGE2_ADDR) $(B)/stage2.bin $(B)/stage2.map

$(B)/%.o: %.c $(B)/flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/%.asm.o: %.asm $(B)/flags
	@mkdir -p $(@D)
	$(NASM) -f elf64 -g -F dwarf -o $@ $<

## From chapter 03 on, the kernel carries its own symbol table
## (kernel/ksyms.h) and is linked twice: first with an empty table, then
## with the table `tools/gensyms` makes from the first link. The table
## sits in .rodata, after the code, so no function moves between the
## links; the last step checks that.
ifneq ($(wildcard kernel/ksyms.h),)
$(B)/ksyms-empty.c:
	@mkdir -p $(@D)
	$(TOOLS)/gensyms > $@

$(B)/ksyms-%.o: $(B)/ksyms-%.c kernel/ksyms.h $(B)/flags
	$(CC) $(CFLAGS) -I kernel -c -o $@ $<

$(B)/kernel.pass1.elf: $(KERNEL_OBJ) $(B)/ksyms-empty.o kernel/linker.ld
	$(LD) $(LDFLAGS) -o $@ $(KERNEL_OBJ) $(B)/ksyms-empty.o

$(B)/ksyms-table.c: $(B)/kernel.pass1.elf $(TOOLS)/gensyms
	$(TOOLS)/gensyms $< > $@

$(B)/kernel.elf: $(B)/kernel.pass1.elf $(B)/ksyms-table.o
	$(LD) $(LDFLAGS) -o $@ $(KERNEL_OBJ) $(B)/ksyms-table.o
	@cmp -s <($(TOOLS)/gensyms $<) <($(TOOLS)/gensyms $@) || \
		{ echo "kernel.elf: functions moved between the links" >&2; \
		  rm -f $@; exit 1; }
else
$(B)/kernel.elf: $(KERNEL_OBJ) kernel/linker.ld
	$(LD) $(LDFLAGS) -o $@ $(KERNEL_OBJ)
endif

$(B)/kernel.stripped.elf: $(B)/kernel.elf
	objcopy --strip-debug $< $@

$(B)/disk.img: $(B)/stage1.bin $(B)/stage2.bin $(B)/kernel.stripped.elf
	cat $^ > $@.tmp
	$(TOOLS)/pad-image $@.tmp
	mv $@.tmp $@

## Broken images for the tests of the bootloader's error paths.
$(B)/bad-%.img: $(B)/disk.img $(TOOLS)/mkbadimage
	$(TOOLS)/mkbadimage $* $< $@

## `make run QEMUFLAGS="--machine pc --mem 6G"` passes options to
## tools/qemu; `QEMUARGS="-cpu qemu64,vendor=GenuineIntel"` passes
## arguments to QEMU itself; `TEST=NAME` runs the kernel's test scenario
## NAME, as the boot tests do (`make gdb TEST=boot`: every self-test,
## under gdb); `SMP=4` gives the machine 4 CPUs (QEMU's -smp, so also
## `SMP=4,maxcpus=8`). `GDBPORT` is the port of QEMU's gdb stub (1234;
## 0: any free port).
SMPFLAG = $(if $(SMP),--smp $(SMP))

run: all
	$(TOOLS)/qemu $(QEMUFLAGS) $(SMPFLAG) $(if $(TEST),--test $(TEST)) \
		$(B)/disk.img -- $(QEMUARGS)

gdb gdb-boot: all
	TEST='$(TEST)' QEMUFLAGS='$(QEMUFLAGS) $(SMPFLAG)' \
		$(TOOLS)/gdb-session $(if $(filter gdb,$@),kernel,boot) $(B)

hosttest: $(HOST_TESTS)
	@for t in $^; do $$t || true; done

$(B)/host/%: tests/host/%.c $(wildcard kernel/*.c kernel/*.h tests/host/*.h)
	@mkdir -p $(@D)
	gcc $(HOSTCFLAGS) -o $@ $<

test: all
	$(TOOLS)/chapter-test .

## From chapter 04 on, a chapter may have host benchmarks in `bench/`.
## Each `bench/bench_NAME.c` is one program, `build/bench/bench_NAME`,
## compiled with -O2 and no sanitisers together with the other files of
## `bench/` (the re-created Redox allocators it measures against).
## `make bench` runs the benchmarks the chapter's CHAPTER file declares
## `new`, its own subsystem's (all of them, in a chapter that added
## none); `make bench-NAME` runs one, an earlier chapter's too. Each
## prints its figures as tables. As the host tests do, a benchmark
## #includes the kernel file it measures (and there is no `-I kernel`:
## the kernel's own string.h would hide the C library's).
##
## `make test` never times anything: a host test may run the benchmark
## at a small size, only to see that it works, so host tests are rebuilt
## when a benchmark file changes.
BENCH_MAIN := $(sort $(wildcard bench/bench_*.c))
BENCH_LIB := $(filter-out $(BENCH_MAIN),$(sort $(wildcard bench/*.c)))
BENCH_OWN := $(filter $(BENCH_MAIN),$(shell awk '$$1 == "new" { \
	for (i = 2; i <= NF; i++) print $$i }' CHAPTER 2>/dev/null))
ifneq ($(BENCH_MAIN),)
.PHONY: bench
$(BENCH_MAIN:bench/%.c=$(B)/bench/%): $(B)/bench/%: bench/%.c $(BENCH_LIB) \
		$(wildcard bench/*.h kernel/*.c kernel/*.h)
	@mkdir -p $(@D)
	gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -o $@ $< $(BENCH_LIB)

bench: $(patsubst bench/%.c,$(B)/bench/%,$(or $(BENCH_OWN),$(BENCH_MAIN)))
	@for b in $^; do $$b || exit 1; done

bench-%: $(B)/bench/bench_%
	$<

$(HOST_TESTS): $(wildcard bench/*.c bench/*.h)
endif

boot-log: all
	@$(TOOLS)/boottest --log-only . boot

clean:
	rm -rf $(B)

-include $(KERNEL_OBJ:.o=.d)
