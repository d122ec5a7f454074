# smime-milter -- plain GNU make.
#
#   make              build the daemon, smimectl and the library (build/)
#   make SANITIZE=1   the same with ASan+UBSan (build-san/)
#   make run          install missing packages, build, run the daemon in
#                     the foreground with conf/smime-milter.conf
#   make check        install missing packages, build, run every test
#   make install      install binaries, man pages and the sample config
#   make bench-certs  certificate look-up rates against ldapsearch
#   make bench-cms    encryption fan-out rates against independent runs
#   make bench-policy 100,000-rule policy: load time, ns per decision
#   make bench-e2e    through a private Postfix: msg/s against a
#                     pass-through milter (unix socket and TCP), peak RSS,
#                     a 1,000-recipient Bcc fan-out against plain SMTP
#   make fuzz         every fuzz target for FUZZ_SECONDS (default 600)

CC       ?= cc
PREFIX   ?= /usr/local
SYSCONFDIR ?= /etc/smime-milter

ifeq ($(SANITIZE),1)
BUILD    := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
else
BUILD    := build
SANFLAGS :=
endif

CPPFLAGS += -D_GNU_SOURCE -Icommon -Imilter \
            -DSYSCONFDIR='"$(SYSCONFDIR)"'
CFLAGS   += -std=c11 -Wall -Wextra -Werror -O2 -g $(SANFLAGS)
LDFLAGS  += $(SANFLAGS)
LIBS     := -lmilter -lldap -llber -lssl -lcrypto -lpthread

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
LIBCOMMON  := $(BUILD)/libsmime.a

MILTER_OBJ := $(BUILD)/milter/smime-milter.o $(BUILD)/milter/callbacks.o \
              $(BUILD)/milter/daemon.o $(BUILD)/milter/mta_libmilter.o
CTL_OBJ    := $(BUILD)/milter/smimectl.o \
              $(patsubst %.c,$(BUILD)/%.o,$(wildcard milter/ctl_*.c))

DAEMON := $(BUILD)/smime-milter
CTL    := $(BUILD)/smimectl

# Unit tests: one program per tests/unit/test_*.c, linked with the
# library (and, for the callbacks, the stub MTA seam).
UNIT_TESTS := $(notdir $(basename $(wildcard tests/unit/test_*.c)))
UNIT_BINS  := $(UNIT_TESTS:%=$(BUILD)/tests/%)
# Test and benchmark drivers that are not cmocka programs.
TOOL_SRCS  := $(wildcard tests/integration/*.c tests/bench/*.c)
TOOL_BINS  := $(addprefix $(BUILD)/tests/,$(notdir $(TOOL_SRCS:.c=)))
CMOCKA_LIBS := -lcmocka

.PHONY: all deps run check unit unit-san docs-check protocol integration \
        install clean bench-certs bench-cms bench-policy bench-e2e fuzz \
        fuzz-build soak

all: $(DAEMON) $(CTL)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJ)
	$(AR) rcs $@ $^

$(DAEMON): $(MILTER_OBJ) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(CTL): $(CTL_OBJ) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/test_callbacks: $(BUILD)/tests/unit/test_callbacks.o \
    $(BUILD)/milter/callbacks.o $(BUILD)/tests/unit/stub_mta.o $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBS)

# Tests of certificate code share the generated test PKI.
PKI_TESTS := $(BUILD)/tests/test_certcheck $(BUILD)/tests/test_certlookup \
             $(BUILD)/tests/test_cmsenv $(BUILD)/tests/test_smime \
             $(BUILD)/tests/test_senderkeys $(BUILD)/tests/test_eom
PKI_TESTS += $(BUILD)/tests/test_groups
$(PKI_TESTS): $(BUILD)/tests/%: $(BUILD)/tests/unit/%.o \
    $(BUILD)/tests/unit/pki_fixture.o $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBS)

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/integration/%.o $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/bench/%.o $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Install the Debian packages the build and the tests need (a no-op when
# all are present; as non-root it prints the apt-get command and fails).
deps:
	@sh contrib/install-deps

run: deps all
	@mkdir -p /var/tmp /var/lib/smime-milter/certs
	$(DAEMON) -f -c conf/smime-milter.conf

unit: $(UNIT_BINS) $(TOOL_BINS)

check: deps
	$(MAKE) all unit
	$(MAKE) SANITIZE=1 all unit
	sh tests/run-all

# Benchmarks: not part of "make check" (they take minutes); each prints
# rates next to a baseline measured in the same run.
bench-certs: deps all unit
	bash tests/bench/bench-certs.sh

bench-cms: deps all unit
	bash tests/bench/bench-cms.sh

bench-policy: all $(BUILD)/tests/bench_policy
	$(BUILD)/tests/bench_policy 100000 200000

# Root: it runs a private Postfix (tests/integration/lib.sh).  ~5 min.
bench-e2e: deps all $(BUILD)/tests/passmilter
	bash tests/bench/bench-e2e.sh

# Root: sustained traffic through a private Postfix, release build then
# the ASan build (tests/soak/soak.sh); SOAK_SECONDS (600) +
# SOAK_SAN_SECONDS (120) + about a minute.
soak: deps all
	$(MAKE) SANITIZE=1 all
	bash tests/soak/soak.sh

# Fuzzing (clang, libFuzzer, ASan+UBSan): every tests/fuzz/fuzz_NAME.c is
# built into build-fuzz/fuzz_NAME and run for FUZZ_SECONDS on its corpus
# tests/fuzz/corpus/NAME (new inputs go to build-fuzz/corpus-NAME).
FUZZ_SECONDS ?= 600
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -D_GNU_SOURCE -Icommon

build-fuzz/%: tests/fuzz/%.c $(COMMON_SRC)
	@mkdir -p build-fuzz
	clang $(FUZZ_FLAGS) -o $@ $< $(COMMON_SRC) $(LIBS)

fuzz-build: deps $(FUZZ_BINS)

fuzz: fuzz-build
	@for bin in $(FUZZ_BINS); do \
	    name=$${bin#build-fuzz/fuzz_}; \
	    mkdir -p build-fuzz/corpus-$$name; \
	    echo "== $$bin for $(FUZZ_SECONDS)s"; \
	    $$bin -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	        -print_final_stats=1 build-fuzz/corpus-$$name \
	        tests/fuzz/corpus/$$name || exit 1; \
	done

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(SYSCONFDIR)
	install -m 755 $(DAEMON) $(CTL) $(DESTDIR)$(PREFIX)/sbin/
	install -m 644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	test -e $(DESTDIR)$(SYSCONFDIR)/smime-milter.conf || \
	    install -m 644 conf/smime-milter.conf $(DESTDIR)$(SYSCONFDIR)/
	test -e $(DESTDIR)$(SYSCONFDIR)/smime-milter.policy || \
	    install -m 644 conf/smime-milter.policy $(DESTDIR)$(SYSCONFDIR)/

clean:
	rm -rf build build-san build-fuzz

-include $(COMMON_OBJ:.o=.d) $(MILTER_OBJ:.o=.d) $(CTL_OBJ:.o=.d) \
    $(wildcard $(BUILD)/tests/*/*.d)
