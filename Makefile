## # The top-level Makefile
##
## - `make`: build every chapter;
## - `make test`: every test (tools/testsuite), ending with
##   `N passed, N failed`; `make test CH=03` runs one chapter's tests
##   only (tools/chapter-test);
## - `make run`: boot the complete kernel (the last chapter);
##   `make run CH=01` boots chapter 01 (any unique prefix works);
## - `make gdb` / `make gdb CH=01`, `make gdb-boot CH=01`: the same,
##   paused under gdb (book/front/gdb.md);
## - `make book`: the HTML site and the PDFs, under build/book/.
##
## Variables such as `TEST=boot`, `QEMUFLAGS=...`, `OPT=-O0` are passed
## on to the chapter's Makefile (tools/chapter.mk says what they do).
CHAPTERS := $(shell tools/chapters list)
CHDIR := $(firstword $(filter $(CH)%,$(CHAPTERS)))
LAST := $(lastword $(CHAPTERS))

.PHONY: all test run gdb gdb-boot book clean
all:
	@for c in $(CHAPTERS); do $(MAKE) -s -C $$c all || exit 1; done

nochapter = { echo "no chapter matches CH=$(CH) (chapters: $(CHAPTERS))"; \
	exit 2; }

test:
ifeq ($(CH),)
	tools/testsuite
else
	@test -n "$(CHDIR)" || $(nochapter)
	tools/chapter-test $(CHDIR)
endif

run gdb gdb-boot:
	@test -n "$(if $(CH),$(CHDIR),$(LAST))" || $(nochapter)
	$(MAKE) -C $(if $(CH),$(CHDIR),$(LAST)) $@

book:
	$(MAKE) -C book

clean:
	@for c in $(CHAPTERS); do $(MAKE) -s -C $$c clean; done
	rm -rf build
