# Thin wrapper over CMake for the README commands.
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8000
DATA ?= ./data

.PHONY: all deps build console install run test test-pg test-unit test-api asan tsan fuzz bench soak clean format lint

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The web console (web/): bundled from npm's packages by esbuild into $(BUILD)/console, where
# the server finds it beside its executable (switchyard serve --console DIR to serve another).
console: node_modules
	@node web/build.mjs $(BUILD)/console

# make install [PREFIX=/usr/local] [DESTDIR=...]: switchyard and switchyard-server (bin),
# libswitchyard.so* (lib), switchyard.h (include), switchyard.pc (lib/pkgconfig), through CMake's
# install rules; then ldconfig, when installing for real (no DESTDIR) as root.
PREFIX ?= /usr/local
install: build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

# What `make run` shows is the server: its first line is the admin token, at first start. Installing
# and building go to RUN_LOG, which is printed only if they fail.
RUN_LOG ?= $(BUILD)/make-run.log
run:
	@mkdir -p $(BUILD)
	@echo "make run: installing what is missing and building (output in $(RUN_LOG))" >&2
	@{ scripts/deps.sh && cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo && \
	   cmake --build $(BUILD) -j$(JOBS) && $(MAKE) --no-print-directory console; } >$(RUN_LOG) 2>&1 || \
	 { cat $(RUN_LOG) >&2; echo "make run: the build failed; its output is above and in $(RUN_LOG)" >&2; exit 1; }
	@exec $(BUILD)/switchyard serve --listen $(LISTEN) --data $(DATA)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSY_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

# libswitchyard's stress program (tests/lib/stress.c) under ThreadSanitizer; only it and what it
# links are built (tests/lib/tsan.test.js runs it: SY_TSAN_BIN).
tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSY_TSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j$(JOBS) --target sy_stress

node_modules: package.json package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error
	@touch node_modules

# The whole suite: the release build, then the same suite under ASan+UBSan. The static checks
# (scripts/lint.sh) run beside both suites, which mostly wait on their servers, at a lower
# priority so that they take only the CPU the suites leave; their output comes after the suites'.
# The black-box suite against the PostgreSQL store (scripts/test_pg.sh: a throwaway cluster,
# the release build, and the multi-node tests of tests/pg) runs beside the fuzz harnesses, which
# run for a fixed time whatever CPU they get (beside a suite, it would slow that suite's timed
# checks); its output comes after theirs. TEST_PG=0 leaves it out.
TEST_PG ?= 1
test:
	@scripts/deps.sh --test
	@$(MAKE) --no-print-directory build asan tsan node_modules console
	@nice -n 10 scripts/lint.sh $(BUILD) >$(BUILD)/lint.log 2>&1 & lint=$$!; \
	  SY_TSAN_BIN=$(CURDIR)/$(TSAN_BUILD)/sy_stress scripts/test.sh $(BUILD); rc=$$?; \
	  if [ $$rc -eq 0 ]; then SY_SANITIZED=1 SY_TSAN_BIN=$(CURDIR)/$(TSAN_BUILD)/sy_stress scripts/test.sh $(ASAN_BUILD); rc=$$?; fi; \
	  wait $$lint; lint_rc=$$?; echo "== lint =="; cat $(BUILD)/lint.log; \
	  [ $$rc -eq 0 ] && [ $$lint_rc -eq 0 ]
	@pg_rc=0; if [ "$(TEST_PG)" != 0 ]; then scripts/test_pg.sh $(BUILD) >$(BUILD)/test-pg.log 2>&1 & pg=$$!; fi; \
	  SY_FUZZ_BUILD=$(FUZZ_BUILD) scripts/fuzz.sh 20; rc=$$?; \
	  if [ "$(TEST_PG)" != 0 ]; then wait $$pg; pg_rc=$$?; echo "== PostgreSQL store =="; cat $(BUILD)/test-pg.log; fi; \
	  [ $$rc -eq 0 ] && [ $$pg_rc -eq 0 ]

# The black-box suite against the PostgreSQL store alone (scripts/test_pg.sh).
test-pg: build node_modules
	@scripts/deps.sh --test
	@scripts/test_pg.sh $(BUILD)

# Every libFuzzer harness of tests/fuzz for FUZZ_SECONDS each (clang, ASan+UBSan, in $(FUZZ_BUILD)).
fuzz:
	@scripts/deps.sh --fuzz
	@SY_FUZZ_BUILD=$(FUZZ_BUILD) scripts/fuzz.sh $(FUZZ_SECONDS)

bench: build node_modules
	@scripts/deps.sh --bench
	@bench/run.sh $(BUILD)

# Durability and memory at scale, not part of `make test` (about 20 minutes): SOAK_CYCLES SIGKILLs
# under 8 writers, then SOAK_MINUTES at half the measured maximum read+write load (bench/README.md).
SOAK_CYCLES ?= 200
SOAK_MINUTES ?= 10
soak: build node_modules
	@SOAK_CYCLES=$(SOAK_CYCLES) SOAK_MINUTES=$(SOAK_MINUTES) tests/soak/run.sh $(BUILD)

# clang-format and clang-tidy over src/ and tests/unit/ (scripts/lint.sh), with the build's compile commands.
lint:
	@scripts/deps.sh --lint
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@scripts/lint.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
