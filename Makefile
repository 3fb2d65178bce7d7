# olsync: the two commands a user needs are `make demo` and `make test`; both install missing
# Debian packages first (scripts/deps.sh), then configure and build with CMake.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
# New inputs libFuzzer finds go here, never into the checked-in fuzz/corpus/<name>.
FUZZ_SCRATCH ?= $(FUZZ_BUILD)/corpus
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
JSFORCE    := tests/integration/jsforce
GRAPHCLIENT := tests/integration/graphclient

.PHONY: all deps build build-asan test test-unit test-asan test-valgrind lint node-deps demo fuzz install clean

all: build

deps:
	@./scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOL_WERROR=ON
	cmake --build $(BUILD) -j$(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DOL_SANITIZE=ON -DOL_WERROR=ON
	cmake --build $(ASAN_BUILD) -j$(JOBS)

# The unmodified npm clients (jsforce, the Microsoft Graph JS client), pinned in package-lock.json.
node-deps:
	cd $(JSFORCE) && { [ -d node_modules/jsforce ] || npm ci --no-audit --no-fund --loglevel=error; }
	cd $(GRAPHCLIENT) && { [ -d node_modules/@microsoft/microsoft-graph-client ] || \
	    npm ci --no-audit --no-fund --loglevel=error; }

# The whole suite, then the same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
# Chromium and the PostgreSQL server too (scripts/deps.sh test), so dashboard_in_chromium and the
# PostgreSQL runs run rather than skip or fail.
test: build node-deps
	@./scripts/deps.sh test
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	$(MAKE) test-asan

# Under the sanitizers the engine programs run on SQLite only: their PostgreSQL runs (NAME_pg)
# exercise the same code above the store, and the whole suite must stay under 15 minutes.
# store_pg.c itself runs sanitized in test_store_pg, test_ledger_pg and test_instances_pg.
ASAN_SKIP = '^test_(engine|engine_mix|crash|meetings|realtime|backfill|backfill_cmd|batching|budget|dry_run|dry_run_meetings|faults|match_write|migrate_db|doctor)_pg$$'

test-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j$(JOBS) \
	    -E $(ASAN_SKIP)

# The C test programs under valgrind memcheck: no memory errors, no definite or indirect leaks
# (scripts/valgrind.sh; VALGRIND_TESTS=regex picks programs by name).
test-valgrind: build
	./scripts/valgrind.sh $(BUILD) '$(or $(VALGRIND_TESTS),.)'

# cppcheck and clang-tidy over lib/ src/ sim/ with .cppcheck/ and .clang-tidy (scripts/lint.sh).
# ctest runs the cppcheck half; clang-tidy takes minutes and runs only here.
lint: build
	./scripts/lint.sh $(BUILD)

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -R '^test_' -E 'integration' -j$(JOBS)

# Each fuzz/fuzz_<name>.c under libFuzzer with clang for FUZZ_SECONDS, starting from the checked-in
# corpus. A crash stops the run and leaves crash-* in $(FUZZ_SCRATCH)/<name>/.
fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOL_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzzers
	@for src in fuzz/fuzz_*.c; do \
	    name=$$(basename $$src .c); corpus=$${name#fuzz_}; \
	    mkdir -p $(FUZZ_SCRATCH)/$$corpus || exit 1; \
	    echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
	    $(FUZZ_BUILD)/$$name -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_SCRATCH)/$$corpus/ \
	        $(FUZZ_SCRATCH)/$$corpus fuzz/corpus/$$corpus || exit 1; \
	done

demo: build
	@./scripts/demo.sh $(BUILD)

# The binary, man page, systemd unit and sysusers.d entry under $(PREFIX), the example
# configuration in /etc/olsync (where the binary looks), all below $(DESTDIR) when it is set.
# Builds first if $(BUILD) was never configured; otherwise brings olsync up to date.
install:
	@[ -f $(BUILD)/CMakeCache.txt ] || $(MAKE) build
	cmake --build $(BUILD) --target olsync -j$(JOBS)
	DESTDIR='$(DESTDIR)' cmake --install $(BUILD) --prefix '$(PREFIX)'

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
