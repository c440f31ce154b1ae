# SPDX-License-Identifier: MIT
# VelociCompanion - plain make; see README.md.
.DELETE_ON_ERROR:
.SUFFIXES:

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
SHAREDIR ?= $(PREFIX)/share/velocicompanion
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN      = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Werror=format-security \
            -Wno-unused-parameter -Wno-missing-field-initializers
HARDEN    = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
HARDEN_LD = -pie -Wl,-z,relro,-z,now

PKGS      = sqlite3 libsodium libwebsockets liboath libcurl yaml-0.1 libprotobuf-c libssl libcrypto libpcre2-8
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Debian 12's libjq-dev and libunistring-dev ship no pkg-config file.
EXTRA_LIBS = -ljq -lonig -lunistring -lpthread -lm

ALL_CFLAGS  = $(WARN) -D_GNU_SOURCE -Ilib -Ibuild $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(LDFLAGS)
LIBS        = $(PKG_LIBS) $(EXTRA_LIBS)

LIB_SRC  = $(sort $(wildcard lib/*.c))
LIB_OBJ  = $(LIB_SRC:lib/%.c=build/%.o) build/schema.o build/velociraptor.pb-c.o
CMDS     = $(patsubst cmd/%.c,%,$(sort $(wildcard cmd/vc-*.c)))
BINS     = $(CMDS:%=bin/%)
UNIT_SRC = $(sort $(wildcard tests/unit/t_*.c))
UNITS    = $(UNIT_SRC:tests/unit/%.c=build/tests/%)
ASAN_UNITS = $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)
MANS     = $(sort $(wildcard man/*.[157]))

# make V=1 shows the full commands.
V ?= 0
ifeq ($(V),0)
Q = @
say = @echo "  $(1)	$(2)";
else
Q =
say =
endif

all: deps-check $(BINS) completions

deps-check:
	@scripts/check-deps $(PKGS)

# Velociraptor's protobuf messages, generated from our own .proto.
build/velociraptor.pb-c.c build/velociraptor.pb-c.h &: proto/velociraptor.proto
	@mkdir -p build
	$(call say,GEN,build/velociraptor.pb-c.c)protoc-c --c_out=build -Iproto proto/velociraptor.proto

build/velociraptor.pb-c.o: build/velociraptor.pb-c.c
	$(call say,CC,$@)$(CC) -std=c11 -Ibuild $(PKG_CFLAGS) $(CFLAGS) $(HARDEN) -c -o $@ build/velociraptor.pb-c.c

build/%.o: lib/%.c lib/*.h build/schema.h build/velociraptor.pb-c.h
	@mkdir -p build
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(HARDEN) -c -o $@ $<

build/schema.c build/schema.h &: schema.sql scripts/embed-schema
	@mkdir -p build
	$(call say,GEN,build/schema.c)scripts/embed-schema schema.sql build/schema.c build/schema.h

build/schema.o: build/schema.c
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(HARDEN) -c -o $@ build/schema.c

build/libvc.a: $(LIB_OBJ)
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $(LIB_OBJ)

bin/%: cmd/%.c build/libvc.a lib/*.h
	@mkdir -p bin
	$(call say,LD,$@)$(CC) $(ALL_CFLAGS) $(HARDEN) $(HARDEN_LD) -o $@ $< build/libvc.a $(ALL_LDFLAGS) $(LIBS)

build/tests/%: tests/unit/%.c build/libvc.a lib/*.h tests/unit/tap.h
	@mkdir -p build/tests
	$(call say,LD,$@)$(CC) $(ALL_CFLAGS) -o $@ $< build/libvc.a $(ALL_LDFLAGS) $(LIBS)

# The same unit tests under AddressSanitizer and UBSan.
ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# The built-in Sigma field map is data/sigma-map.json, pulled in by .incbin.
build/sigma_map.o build/asan/sigma_map.o: data/sigma-map.json

build/asan/velociraptor.pb-c.o: build/velociraptor.pb-c.c
	@mkdir -p build/asan
	$(call say,CC,$@)$(CC) -std=c11 -Ibuild $(PKG_CFLAGS) $(ASAN_FLAGS) -c -o $@ build/velociraptor.pb-c.c
build/asan/%.o: lib/%.c lib/*.h build/schema.h build/velociraptor.pb-c.h
	@mkdir -p build/asan
	$(call say,CC,$@)$(CC) $(WARN) -D_GNU_SOURCE -Ilib -Ibuild $(PKG_CFLAGS) $(ASAN_FLAGS) -c -o $@ $<
build/asan/schema.o: build/schema.c
	@mkdir -p build/asan
	$(call say,CC,$@)$(CC) $(WARN) -Ilib -Ibuild $(ASAN_FLAGS) -c -o $@ build/schema.c
build/asan/libvc.a: $(LIB_SRC:lib/%.c=build/asan/%.o) build/asan/schema.o build/asan/velociraptor.pb-c.o
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^
build/asan/tests/%: tests/unit/%.c build/asan/libvc.a tests/unit/tap.h
	@mkdir -p build/asan/tests
	$(call say,LD,$@)$(CC) $(WARN) -D_GNU_SOURCE -Ilib -Ibuild $(PKG_CFLAGS) $(ASAN_FLAGS) -o $@ $< build/asan/libvc.a $(LIBS)

completions: bin/vc-auth
	@mkdir -p completions
	$(call say,GEN,completions)bin/vc-auth --completions bash > completions/velocicompanion.bash
	$(Q)bin/vc-auth --completions zsh > completions/_velocicompanion
	$(Q)bin/vc-auth --completions fish > completions/velocicompanion.fish

deps:
	scripts/install-deps.sh

demo: deps
	$(MAKE) all
	scripts/demo

check: deps
	$(MAKE) all
	$(MAKE) test

test: $(BINS) $(UNITS) $(ASAN_UNITS)
	@scripts/run-tests

lint:
	scripts/lint
	scripts/lint

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	mkdir -p $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	for b in $(BINS); do install -m 0755 $$b $(DESTDIR)$(BINDIR)/; done
	for m in $(MANS); do s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	install -m 0644 completions/velocicompanion.bash $(DESTDIR)$(BASHCOMPDIR)/velocicompanion
	install -m 0644 completions/_velocicompanion $(DESTDIR)$(ZSHCOMPDIR)/_velocicompanion
	install -m 0644 completions/velocicompanion.fish $(DESTDIR)$(FISHCOMPDIR)/velocicompanion.fish
	# The Sigma rules (vc-score's default set), with their licence and README.
	mkdir -p $(DESTDIR)$(SHAREDIR)/sigma
	tar -C rules/sigma -cf - rules README.md LICENSE.Detection.Rules.md LICENSE.SigmaHQ-repository.md | \
		tar -C $(DESTDIR)$(SHAREDIR)/sigma --no-same-owner --no-same-permissions -xf -
	chmod -R u=rwX,go=rX $(DESTDIR)$(SHAREDIR)/sigma

clean:
	rm -rf build bin demo

.PHONY: all deps deps-check demo check test lint install clean completions
