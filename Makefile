## # The top-level Makefile
##
## - `make`: build every chapter;
## - `make test`: every test (tools/testsuite), ending with
##   `N passed, N failed`;
## - `make run`: boot the complete kernel (the last chapter);
##   `make run CH=01` boots chapter 01 (any unique prefix works);
## - `make gdb` / `make gdb CH=01`: the same, paused under gdb;
## - `make book`: the HTML site and the PDFs, under build/book/.
CHAPTERS := $(shell tools/chapters list)
CH ?= $(lastword $(CHAPTERS))
CHDIR := $(firstword $(filter $(CH)%,$(CHAPTERS)))

.PHONY: all test run gdb book clean
all:
	@for c in $(CHAPTERS); do $(MAKE) -s -C $$c all || exit 1; done

test:
	tools/testsuite

run gdb:
	@test -n "$(CHDIR)" || { echo "no chapter matches CH=$(CH)"; exit 2; }
	$(MAKE) -C $(CHDIR) $@

book:
	$(MAKE) -C book

clean:
	@for c in $(CHAPTERS); do $(MAKE) -s -C $$c clean; done
	rm -rf build
