# SPDX-License-Identifier: MIT
# collectd-runscope: build, test, demo and package.
#
# make            build/runscope.so
# make check      lint, unit tests (Check), end-to-end tests (real collectd),
#                 the installed-package test (pkgtest)
# make demo       the fakes, a scripted story and collectd in the foreground
# make memcheck   unit tests under valgrind, leaks are errors
# make sanitize   unit tests built with AddressSanitizer and UBSan
# make fuzz       libFuzzer targets on the parsers, FUZZ_SECONDS (60) each
# make crashtest  the kill -9 crash test with CRASH_RESTARTS (50) restarts
# make bench      the request economy against a naive poller (~10 minutes)
# make install    DESTDIR, PLUGINDIR, CONFDIR, MANDIR, DOCDIR, STATEDIR as usual
# make deb, make rpm   packages of the committed tree, left in build/
# make pkgtest   the .deb installed with apt-get and run (root, Debian)
# make lint, make format

VERSION := $(shell cat VERSION)
CC ?= cc
COLLECTD_INCLUDE ?= /usr/include/collectd
PLUGINDIR ?= /usr/lib/collectd
CONFDIR ?= /etc/collectd/collectd.conf.d
MANDIR ?= /usr/share/man
DOCDIR ?= /usr/share/doc/collectd-runscope
STATEDIR ?= /var/lib/collectd/runscope
BINDIR ?= /usr/bin
# collectd's main config, where runscopectl looks for the plugin's StateFile
# and MaintenanceDir by default (RPM distributions: /etc/collectd.conf).
COLLECTD_CONF ?= /etc/collectd/collectd.conf

PKGS := libcurl json-c
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))
CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS = $(shell pkg-config --libs check)

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Werror
CFLAGS ?= -O2 -g
# runscope.so exports only module_register: every object is compiled with
# -fvisibility=hidden and plugin/module.c marks module_register
# visibility("default"). Chosen over a linker version script because the
# export is stated at the function it concerns, and the compiler, knowing the
# core's functions cannot be interposed, calls them directly rather than
# through the PLT. make lint checks the result (tests/lint/check_exports.py).
ALL_CFLAGS = -std=gnu11 -fPIC -fvisibility=hidden $(WARN) $(CFLAGS) \
	$(PKG_CFLAGS) -DRUNSCOPE_VERSION='"$(VERSION)"'
PLUGIN_CPPFLAGS = -DHAVE_CONFIG_H -I$(COLLECTD_INCLUDE)

B := build
CORE_SRC := $(sort $(wildcard shared/*/*.c))
CORE_HDR := $(wildcard shared/*/*.h)
CORE_OBJ := $(CORE_SRC:shared/%.c=$(B)/shared/%.o)
PLUGIN_SRC := $(sort $(wildcard plugin/*.c))
PLUGIN_OBJ := $(PLUGIN_SRC:plugin/%.c=$(B)/plugin/%.o)
CLI_SRC := $(sort $(wildcard cli/*.c))
CLI_OBJ := $(CLI_SRC:cli/%.c=$(B)/cli/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(B)/tests/%)

.PHONY: all deps check unit e2e demo memcheck install lint format clean \
	deb rpm pkgtest

all: $(B)/runscope.so $(B)/runscopectl

deps:
	@packaging/install-deps.sh

# Objects depend on the Makefile too: a changed flag (such as the visibility)
# rebuilds them rather than leaving stale objects in build/.
$(B)/shared/%.o: shared/%.c $(CORE_HDR) Makefile
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Ishared -c -o $@ $<

$(B)/plugin/%.o: plugin/%.c $(CORE_HDR) $(wildcard plugin/*.h) Makefile
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CPPFLAGS) $(ALL_CFLAGS) -Ishared -c -o $@ $<

$(B)/libcore.a: $(CORE_OBJ)
	rm -f $@
	ar rcs $@ $^

# collectd's symbols stay undefined: the daemon exports them (no -z defs).
# libm is named, not assumed loaded by collectd (maintenance windows use it).
$(B)/runscope.so: $(PLUGIN_OBJ) $(B)/libcore.a
	$(CC) -shared $(LDFLAGS) -o $@ $(PLUGIN_OBJ) $(B)/libcore.a $(PKG_LIBS) -lm

# runscopectl: the command beside the plugin, from the same core (cli/; no
# collectd headers). Its defaults are the paths the packages install.
CLI_CPPFLAGS = -DRUNSCOPECTL_CONF='"$(COLLECTD_CONF)"' \
	-DRUNSCOPECTL_SNIPPET='"$(CONFDIR)/runscope.conf"' \
	-DRUNSCOPECTL_STATE_FILE='"$(STATEDIR)/state.json"'

$(B)/cli/%.o: cli/%.c $(CORE_HDR) $(wildcard cli/*.h) Makefile
	@mkdir -p $(@D)
	$(CC) $(CLI_CPPFLAGS) $(ALL_CFLAGS) -Ishared -c -o $@ $<

$(B)/runscopectl: $(CLI_OBJ) $(B)/libcore.a
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $(CLI_OBJ) $(B)/libcore.a \
		$(PKG_LIBS) -lm

# The parser's tests build oconfig trees by hand: collectd's headers, and the
# plugin object that holds the parser (it calls no collectd function).
$(B)/tests/test_config_parse: tests/test_config_parse.c $(B)/tests/runner.o \
		$(B)/plugin/config_parse.o $(B)/libcore.a $(wildcard tests/*.h)
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CPPFLAGS) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Ishared -Iplugin \
		-Itests -o $@ $< $(B)/tests/runner.o $(B)/plugin/config_parse.o \
		$(B)/libcore.a $(PKG_LIBS) $(CHECK_LIBS)

# runscopectl's reader of collectd's config: the cli objects it needs.
CTL_CONF_OBJ := $(B)/cli/ctl_conf.o $(B)/cli/ctl_tree.o $(B)/cli/ctl_util.o
$(B)/tests/test_ctl_conf: tests/test_ctl_conf.c $(B)/tests/runner.o \
		$(CTL_CONF_OBJ) $(B)/libcore.a $(wildcard tests/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Ishared -Icli -Itests -o $@ $< \
		$(B)/tests/runner.o $(CTL_CONF_OBJ) $(B)/libcore.a $(PKG_LIBS) \
		$(CHECK_LIBS) -lm

# Every suite runs through the one main of tests/runner.c.
$(B)/tests/runner.o: tests/runner.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(B)/tests/%: tests/%.c $(B)/tests/runner.o $(B)/libcore.a $(wildcard tests/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Ishared -Itests -o $@ $< \
		$(B)/tests/runner.o $(B)/libcore.a $(PKG_LIBS) $(CHECK_LIBS)

unit: $(TEST_BIN)
	@set -e; for t in $(TEST_BIN); do echo "== $$t"; \
		RUNSCOPE_FIXTURES=tests/fixtures $$t; done

e2e: $(B)/runscope.so
	python3 -m unittest discover -s tests/e2e -p 'test_*.py' -v

check: deps
	$(MAKE) all
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) e2e
	$(MAKE) pkgtest

demo: deps
	$(MAKE) all
	python3 tests/demo.py

memcheck: deps $(TEST_BIN)
	@set -e; for t in $(TEST_BIN); do echo "== valgrind $$t"; \
		CK_FORK=no RUNSCOPE_FIXTURES=tests/fixtures valgrind -q \
		--leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=1 $$t; done

install: $(B)/runscope.so $(B)/runscopectl
	install -D -m 0644 $(B)/runscope.so $(DESTDIR)$(PLUGINDIR)/runscope.so
	install -D -m 0755 $(B)/runscopectl $(DESTDIR)$(BINDIR)/runscopectl
	@conf=$(DESTDIR)$(CONFDIR)/runscope.conf; \
	if [ -e "$$conf" ] && ! cmp -s conf.d/runscope.conf "$$conf"; then \
		install -m 0644 conf.d/runscope.conf "$$conf.new"; \
		echo "kept the existing $$conf; the new example is $$conf.new"; \
	else install -D -m 0644 conf.d/runscope.conf "$$conf"; fi
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	if [ -f collectd-runscope.5 ]; then install -D -m 0644 collectd-runscope.5 \
		$(DESTDIR)$(MANDIR)/man5/collectd-runscope.5; fi
	if [ -f runscopectl.1 ]; then install -D -m 0644 runscopectl.1 \
		$(DESTDIR)$(MANDIR)/man1/runscopectl.1; fi
	install -d -m 0750 $(DESTDIR)$(STATEDIR)

# Packages are built from the committed tree (git archive HEAD) in build/deb
# and build/rpm; the source tree stays clean.
deb:
	@packaging/install-deps.sh package
	packaging/build-deb.sh

rpm:
	@packaging/install-deps.sh package
	packaging/build-rpm.sh

pkgtest: deb
	lintian --fail-on error build/collectd-runscope_*.deb
	python3 tests/pkg/test_installed_deb.py

# Beyond format and cppcheck (tests/lint/): the layer rule of the includes
# and the C calls the product does not make, on the sources first; then the
# one export of runscope.so, built for the purpose.
lint:
	clang-format --dry-run --Werror shared/*/*.[ch] plugin/*.[ch] tests/*.[ch] \
		tests/bench/*.c
	clang-format --dry-run --Werror cli/*.[ch]
	python3 tests/lint/check_layers.py .
	python3 tests/lint/check_calls.py shared plugin
	python3 tests/lint/check_calls.py cli
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr --suppress=missingIncludeSystem -Ishared \
		shared plugin
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr --suppress=missingIncludeSystem -Ishared -Icli cli
	pyflakes3 tests
	@out=$$(groff -man -ww -z collectd-runscope.5 2>&1); \
		if [ -n "$$out" ]; then echo "$$out"; exit 1; fi
	@out=$$(groff -man -ww -z runscopectl.1 2>&1); \
		if [ -n "$$out" ]; then echo "$$out"; exit 1; fi
	$(MAKE) --no-print-directory $(B)/runscope.so
	python3 tests/lint/check_exports.py $(B)/runscope.so

format:
	clang-format -i shared/*/*.[ch] plugin/*.[ch] tests/*.[ch] tests/bench/*.c
	clang-format -i cli/*.[ch]

# The unit tests built with AddressSanitizer (leaks included) and
# UndefinedBehaviorSanitizer, in build/san; any report fails the run. (The
# warnings are the normal build's: -O1 makes gcc guess differently.)
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
sanitize: deps
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MAKE) --no-print-directory B=$(B)/san CFLAGS="$(SAN_FLAGS)" \
		WARN="$(filter-out -Werror,$(WARN))" unit

# libFuzzer targets (clang) on the Runscope, xMatters and state-file
# parsers, each run FUZZ_SECONDS on a corpus seeded from tests/fixtures.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_CORE_OBJ := $(CORE_SRC:shared/%.c=$(B)/fuzz/core/%.o)
FUZZ_CFLAGS = -std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined \
	$(PKG_CFLAGS) -DRUNSCOPE_VERSION='"$(VERSION)"' -Ishared

$(B)/fuzz/core/%.o: shared/%.c $(CORE_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_CORE_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_CORE_OBJ) \
		$(PKG_LIBS)

fuzz:
	@packaging/install-deps.sh fuzz
	$(MAKE) --no-print-directory $(FUZZ_BIN)
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(B)/fuzz $(FUZZ_BIN)

# The crash test of tests/e2e/test_restart.py with more restarts than
# make check gives it.
CRASH_RESTARTS ?= 50
crashtest: deps
	$(MAKE) all
	CRASH_RESTARTS=$(CRASH_RESTARTS) python3 -m unittest discover \
		-s tests/e2e -p test_restart.py -k CrashTest -v

# The request economy measured: the plugin in the real collectd and a naive
# poller against the same fake Runscope, at T = 100, 1,000 and 5,000 tests
# (tests/bench/bench.py; BENCH_SIZES, BENCH_INTERVAL, BENCH_IDLE,
# BENCH_BUSY), and the tests list's fast path against json-c's tree
# (tests/bench/parse_tests.c). Prints the table and the targets, writes
# build/bench/ results.json, table.md and the chart bench.png. Not part of
# make check.
bench:
	@packaging/install-deps.sh bench
	$(MAKE) all $(B)/bench/parse_tests $(B)/bench/footprint
	BENCH_PARSE=$(B)/bench/parse_tests BENCH_FOOTPRINT=$(B)/bench/footprint \
		python3 tests/bench/bench.py

# The tests list's two parsers timed on one generated page (make bench
# prints the figure; tests/test_jscan.c checks that they agree).
$(B)/bench/parse_tests: tests/bench/parse_tests.c tests/tests_page.h \
		$(B)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Ishared -Itests -o $@ $< $(B)/libcore.a $(PKG_LIBS)

# The plugin's own heap per test: the engine over the transport seam on
# generated tests (make bench prints the figure).
$(B)/bench/footprint: tests/bench/footprint.c $(B)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Ishared -o $@ $< $(B)/libcore.a $(PKG_LIBS) -lm

.PHONY: sanitize fuzz crashtest bench

clean:
	rm -rf $(B)
