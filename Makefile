# snn-itr build. `make` builds libsnn and the programs; `make check` runs the
# tests; `make demo` trains and evaluates on the built-in emoji dataset.

PREFIX ?= /usr/local
CC ?= cc
PKGS := openblas libpng libzstd jansson libutf8proc zlib

CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -fopenmp -Ilib
LDLIBS += -lm -fopenmp

# OpenBLAS must be Debian's OpenMP build: the pthread build spins its own
# threads against ours and made training several times slower on 2 cores.
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
OPENBLAS_DIR := /usr/lib/$(MULTIARCH)/openblas-openmp
PKG_CONFIG := PKG_CONFIG_PATH=$(OPENBLAS_DIR)/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH)) pkg-config

# Resolve the package flags only when building; `make deps` must work without them.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -Wl,-rpath,$(OPENBLAS_DIR)

LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_OBJ := $(LIB_SRC:%.c=build/%.o)
LIB_HDR := $(wildcard lib/*.h)
# Headers of the public API; the others are internal to libsnn.
PUBLIC_HDR := $(addprefix lib/,snn.h arena.h layers.h model.h similarity.h stream.h \
                safetensors.h image.h text.h pairs.h)
CLI_SRC := $(sort $(wildcard cmd/common/*.c))
CLI_OBJ := $(CLI_SRC:%.c=build/%.o)

PROGRAMS := $(patsubst cmd/%.c,%,$(wildcard cmd/snn-*.c)) \
            $(patsubst cmd/%/,%,$(dir $(wildcard cmd/snn-*/main.c)))
BINS := $(PROGRAMS:%=bin/%)

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=build/tests/%)

.PHONY: all deps check unit bats demo install clean
# Keep object files that pattern rules made on the way to a program.
.SECONDARY:
all: build/deps.ok $(BINS)

build/deps.ok: tools/deps.sh
	@mkdir -p build
	@sh tools/deps.sh
	@touch $@

build/%.o: %.c $(LIB_HDR) build/deps.ok
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Icmd/common -c -o $@ $<

build/libsnn.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

bin/%: cmd/%.c $(CLI_OBJ) build/libsnn.a $(wildcard cmd/common/*.h)
	@mkdir -p bin
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Icmd/common -o $@ $< $(CLI_OBJ) build/libsnn.a $(PKG_LIBS) $(LDLIBS)

# Programs that outgrew one file live in cmd/NAME/ with a main.c.
.SECONDEXPANSION:
bin/%: $$(wildcard cmd/%/*.c) $(CLI_OBJ) build/libsnn.a $(wildcard cmd/common/*.h)
	@mkdir -p bin
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Icmd/common -Icmd/$* -o $@ $(filter %.c,$^) $(CLI_OBJ) build/libsnn.a $(PKG_LIBS) $(LDLIBS)

build/tests/%: tests/unit/%.c tests/unit/check.h build/libsnn.a
	@mkdir -p build/tests
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests/unit -o $@ $< build/libsnn.a $(PKG_LIBS) $(LDLIBS)

# Test-only programs that write fixtures for the Bats tests.
build/tests/%: tests/tools/%.c build/libsnn.a
	@mkdir -p build/tests
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< build/libsnn.a $(PKG_LIBS) $(LDLIBS)

deps:
	@sh tools/deps.sh

unit: $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)

bats: all build/tests/mkstream
	bats tests/bats

check: all unit bats

demo: all
	sh examples/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/snn \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	    $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin
	install -m 644 build/libsnn.a $(DESTDIR)$(PREFIX)/lib
	install -m 644 $(PUBLIC_HDR) $(DESTDIR)$(PREFIX)/include/snn
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 $(wildcard man/*.5) $(DESTDIR)$(PREFIX)/share/man/man5
	for p in $(PROGRAMS); do \
	    install -m 644 completions/snn-itr.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$p; \
	done
	install -m 644 completions/_snn-itr $(DESTDIR)$(PREFIX)/share/zsh/site-functions

clean:
	rm -rf build bin
