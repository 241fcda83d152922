# hybridize: `make` builds build/hybridize. Targets: check (quick suite,
# normal build, installs nothing), test (check + ASan/UBSan pass + lint),
# bench, soak (bench/soak.sh: 1,000,000 samples through `run` against
# faulty fake servers; fds, RSS, verify), demo, fuzz, lint, asan
# (sanitizer build), clean. `make test` and `make demo` first run
# scripts/setup.sh, which installs missing Debian packages.

CC      ?= gcc
CXX     ?= g++
# Images: libturbojpeg (JPEG pixels), libjpeg (JPEG coefficients: the
# blur that leaves the rest of a JPEG bit-exact), libspng or libpng, libwebp;
# libcrypto for SHA-256.
PKGS    := libarchive libcjson libcurl libturbojpeg libjpeg libpng libwebp libcrypto
CFLAGS  ?= -O2 -g
DEP     := -MMD -MP
WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes $(DEP)
# Headers are included by their folder ("util/buf.h"), from src/. -MMD -MP:
# each object lists the headers it read (build/**/*.d), so a header change
# rebuilds only what includes it.
DEFS    := -D_GNU_SOURCE -Isrc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CXXWARN := -std=c++17 -Wall -Wextra -Werror $(DEP)

# The library: src/<folder>/*.c (every folder but cli/); the CLI on top.
LIB_SRC := $(filter-out src/cli/%,$(wildcard src/*/*.c))
LIB_CXX := $(wildcard src/*/*.cc)
CLI_SRC := $(wildcard src/cli/*.c)
# fastText (language ID) has no pkg-config file; its adapter is C++.
LIBS    := $(PKG_LIBS) $(if $(LIB_CXX),-lfasttext -lstdc++) -lpthread -lm

B       := build
LIB_OBJ := $(LIB_SRC:src/%.c=$(B)/obj/%.o) $(LIB_CXX:src/%.cc=$(B)/obj/%.o)
CLI_OBJ := $(CLI_SRC:src/cli/%.c=$(B)/obj/cli/%.o)

ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	      -fno-sanitize-recover=undefined
A_LIB_OBJ := $(LIB_SRC:src/%.c=$(B)/asan/obj/%.o) \
	     $(LIB_CXX:src/%.cc=$(B)/asan/obj/%.o)
A_CLI_OBJ := $(CLI_SRC:src/cli/%.c=$(B)/asan/obj/cli/%.o)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
A_UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/asan/unit/%)

.PHONY: all asan check test unit replay bench soak demo fuzz lint clean setup format tools
all: $(B)/hybridize

# The benchmark / demo data generator, the peak-RSS helper and the fake
# LLM server of the tests and benchmarks.
tools: $(B)/gen_shards $(B)/maxrss $(B)/fake_llm $(B)/imgtool $(B)/image_bench

$(B)/fake_llm: tests/servers/fake_llm.c
	@mkdir -p $(B)
	$(CC) $(CFLAGS) $(WARN) $(DEFS) \
		$(shell pkg-config --cflags libcjson libpng libturbojpeg libwebp) \
		$< -o $@ \
		$(shell pkg-config --libs libcjson libpng libturbojpeg libwebp) -lpthread

$(B)/gen_shards: bench/gen_shards.c
	@mkdir -p $(B)
	$(CC) $(CFLAGS) $(WARN) $(shell pkg-config --cflags libarchive libturbojpeg) \
		$< -o $@ $(shell pkg-config --libs libarchive libturbojpeg)

# The image checks of the CLI tests, on our own decoder.
$(B)/imgtool: tests/tools/imgtool.c $(B)/libhy.a
	@mkdir -p $(B)
	$(CC) $(CFLAGS) $(WARN) $(DEFS) $(PKG_CFLAGS) $< -o $@ \
		$(B)/libhy.a $(LIBS)

# Image module throughput, one core (bench/image_bench.c).
$(B)/image_bench: bench/image_bench.c $(B)/libhy.a
	@mkdir -p $(B)
	$(CC) $(CFLAGS) $(WARN) $(DEFS) $(PKG_CFLAGS) $< -o $@ \
		$(B)/libhy.a $(LIBS)

$(B)/maxrss: bench/maxrss.c
	@mkdir -p $(B)
	$(CC) $(CFLAGS) $(WARN) $< -o $@

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(DEFS) $(PKG_CFLAGS) -c $< -o $@

$(B)/obj/%.o: src/%.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CFLAGS) $(CXXWARN) $(DEFS) -c $< -o $@

$(B)/asan/obj/%.o: src/%.cc
	@mkdir -p $(dir $@)
	$(CXX) $(ASAN_FLAGS) $(CXXWARN) $(DEFS) -c $< -o $@

$(B)/libhy.a: $(LIB_OBJ)
	ar rcs $@ $^

$(B)/hybridize: $(CLI_OBJ) $(B)/libhy.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(B)/libhy.a $(LIBS)

$(B)/asan/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) $(WARN) $(DEFS) $(PKG_CFLAGS) -c $< -o $@

$(B)/asan/libhy.a: $(A_LIB_OBJ)
	ar rcs $@ $^

$(B)/asan/hybridize: $(A_CLI_OBJ) $(B)/asan/libhy.a
	$(CC) $(ASAN_FLAGS) -o $@ $(A_CLI_OBJ) $(B)/asan/libhy.a $(LIBS)

asan: $(B)/asan/hybridize $(A_UNIT_BIN)

$(B)/unit/%: tests/unit/%.c $(B)/libhy.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(DEFS) $(PKG_CFLAGS) $< -o $@ \
		$(B)/libhy.a $(LIBS) -lcmocka

$(B)/asan/unit/%: tests/unit/%.c $(B)/asan/libhy.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) $(WARN) $(DEFS) $(PKG_CFLAGS) $< -o $@ \
		$(B)/asan/libhy.a $(LIBS) -lcmocka

unit: $(UNIT_BIN)

# Fuzz targets (fuzz/fuzz_*.c): libFuzzer binaries for `make fuzz`, and
# replay binaries (gcc, normal and ASan) that `make test` runs over every
# corpus file in fuzz/corpus/<target>/.
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRC:fuzz/%.c=%)
REPLAY_NORMAL := $(FUZZ_NAMES:%=$(B)/replay/%)
REPLAY_BIN := $(REPLAY_NORMAL) $(FUZZ_NAMES:%=$(B)/asan/replay/%)
FUZZ_BIN := $(FUZZ_NAMES:%=$(B)/fuzz/%)
FUZZ_SECONDS ?= 60

$(B)/replay/%: fuzz/%.c fuzz/replay.c $(B)/libhy.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(DEFS) $(PKG_CFLAGS) $< fuzz/replay.c -o $@ \
		$(B)/libhy.a $(LIBS)

$(B)/asan/replay/%: fuzz/%.c fuzz/replay.c $(B)/asan/libhy.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) $(WARN) $(DEFS) $(PKG_CFLAGS) $< fuzz/replay.c -o $@ \
		$(B)/asan/libhy.a $(LIBS)

# The library is compiled once for all targets (instrumented for coverage
# and the sanitizers), each target links its own entry point against it.
FUZZ_OBJ := $(LIB_SRC:src/%.c=$(B)/fuzz/obj/%.o) \
	    $(LIB_CXX:src/%.cc=$(B)/fuzz/obj/%.o)

$(B)/fuzz/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(DEFS) \
		$(PKG_CFLAGS) -c $< -o $@

$(B)/fuzz/obj/%.o: src/%.cc
	@mkdir -p $(dir $@)
	clang++ -std=c++17 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr \
		$(DEFS) -c $< -o $@

$(B)/fuzz/libhy.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/fuzz/%: fuzz/%.c $(B)/fuzz/libhy.a
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined $(DEFS) $(PKG_CFLAGS) \
		$< $(B)/fuzz/libhy.a -o $@ $(LIBS)

replay: $(REPLAY_BIN)

# Runs each fuzz target for FUZZ_SECONDS (default 60); new inputs go to
# build/fuzz/corpus-<target>, crashes to build/fuzz/ (add them to
# fuzz/corpus/<target>/ as regression inputs once fixed).
fuzz: $(FUZZ_BIN)
	@for t in $(FUZZ_NAMES); do \
		mkdir -p $(B)/fuzz/corpus-$$t; \
		echo "== $$t ($(FUZZ_SECONDS) s)"; \
		$(B)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=$(B)/fuzz/$$t- \
			$(B)/fuzz/corpus-$$t fuzz/corpus/$${t#fuzz_} \
			>$(B)/fuzz/$$t.log 2>&1; st=$$?; \
		grep -E '^(Done|==[0-9]+==|SUMMARY)' $(B)/fuzz/$$t.log; \
		[ $$st -eq 0 ] || { echo "$$t failed: see $(B)/fuzz/$$t.log"; exit 1; }; \
	done

setup:
	@scripts/setup.sh

# The quick suite: unit tests, fuzz corpus replay and CLI tests on the
# normal build only; no scripts/setup.sh (installs nothing, needs no root;
# tests whose tools are missing say SKIP), no sanitizer build, no lint.
# Same runner and tally as `make test`: ends with "N passed, N failed",
# exit status non-zero on a failure.
check:
	@$(MAKE) --no-print-directory -j$(shell nproc) all unit tools $(REPLAY_NORMAL)
	@tests/run.sh --flavours build --no-lint --no-fuzz

# The whole suite: what `check` runs, then again on the ASan+UBSan build,
# then lint; ends with "N passed, N failed".
# Every fuzz target also runs TEST_FUZZ_SECONDS each: 60 in CI (CI=true),
# none by default on a developer's machine (`make test TEST_FUZZ_SECONDS=60`).
TEST_FUZZ_SECONDS ?= $(if $(filter true 1 yes,$(CI)),60,)
test: setup
	@$(MAKE) --no-print-directory -j$(shell nproc) all unit asan replay tools \
		$(if $(TEST_FUZZ_SECONDS),$(FUZZ_BIN))
	@$(if $(TEST_FUZZ_SECONDS),FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)) tests/run.sh

bench: setup
	@$(MAKE) --no-print-directory all tools
	@bash bench/run.sh
	@bash bench/prompts.sh
	@bash bench/generate.sh

# Long run, 100 shards x 10,000 samples (knobs SOAK_SHARDS, SOAK_SAMPLES,
# SOAK_DIR, SOAK_KEEP=1: see bench/soak.sh); ~13 minutes on 2 cores and
# ~15 GB of disk at the peak.
soak: setup
	@$(MAKE) --no-print-directory all tools
	@bash bench/soak.sh

demo: setup
	@$(MAKE) --no-print-directory all tools
	@scripts/demo.sh

FORMATTED := src/*/*.c src/*/*.h tests/unit/*.c \
	tests/unit/*.h tests/tools/*.c fuzz/*.c

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance \
		--suppress=preprocessorErrorDirective \
		--std=c11 -D_GNU_SOURCE -Isrc $(PKG_CFLAGS) src
	clang-tidy --quiet $(LIB_SRC) $(CLI_SRC) -- -std=c11 $(DEFS) $(PKG_CFLAGS)
	clang-format --dry-run --Werror $(FORMATTED)

format:
	clang-format -i $(FORMATTED)

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
