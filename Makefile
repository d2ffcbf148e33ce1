# Quick start:
#   make test                      install what is missing, build, run every test
#   make serve                     serve ./data over S3 on 127.0.0.1:9000
#   make run ARGS="put FILE"       the CLI on the embedded default store (./data)
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
NOASM_BUILD ?= build-noasm
FUZZ_BUILD ?= build-fuzz
RELEASE_BUILD ?= build-release
JOBS ?= $(shell nproc)

.PHONY: all setup build build-asan test unit-test asan-test cli-test server-test noasm-test kcheck \
  run serve bench fuzz format clean release-build pg-test rgw-test layering

all: build

setup:
	@bash scripts/setup.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAS_SANITIZE=ON \
	  -DAS_BUILD_BENCH=OFF

build-asan: setup $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)

unit-test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan-test: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

cli-test: build
	bash tests/cli/run_all.sh $(BUILD)/bin/artifact-store

# Real S3 clients (awscli, rclone, s3cmd, boto3) and bad input against a
# server each suite starts on a free loopback port.
server-test: build
	bash tests/server/clients/run_all.sh $(BUILD)/bin/artifact-store
	bash tests/server/robust/run.sh $(BUILD)/bin/artifact-store

# The CLI and S3 client suites once more, every store's metadata on a private
# PostgreSQL (tests/util/pg_server.sh: a free loopback port, stopped by pid).
PG_STATE ?= $(BUILD)/pg-shell
pg-test: build
	@bash tests/util/pg_server.sh start $(PG_STATE)
	@if [ -f $(PG_STATE)/skip ]; then cat $(PG_STATE)/skip; exit 1; fi; \
	  trap 'bash tests/util/pg_server.sh stop $(PG_STATE)' EXIT; \
	  export AS_TEST_PG_URL=$$(cat $(PG_STATE)/url) AS_TEST_PG_STATE=$$(realpath $(PG_STATE)); \
	  bash tests/cli/run_all.sh $(BUILD)/bin/artifact-store && \
	  bash tests/server/clients/run_all.sh $(BUILD)/bin/artifact-store

# Packs on a private Ceph RGW (tests/util/rgw_server.sh: mon, mgr, one
# memstore OSD, radosgw on free loopback ports, stopped by pid) and metadata
# on a private PostgreSQL: the pack store's own tests, the store and S3 API
# gtest suites (tests about DIR/packs skip there, saying so), then the CLI and S3
# client suites (with rgw_faults_test.sh) with every store's parts on the
# two servers; last the store, CLI and S3 client suites again with packs on
# RGW and the metadata in SQLite (the fourth combination). Run once, in this
# build: Ceph takes 1-3 s to start.
RGW_STATE ?= $(BUILD)/rgw-shell
rgw-test: build
	@bash tests/util/rgw_server.sh start $(RGW_STATE)
	@if [ -f $(RGW_STATE)/skip ]; then cat $(RGW_STATE)/skip; bash tests/util/rgw_server.sh stop $(RGW_STATE); exit 1; fi
	@bash tests/util/pg_server.sh start $(PG_STATE)-rgw
	@trap 'bash tests/util/rgw_server.sh stop $(RGW_STATE); bash tests/util/pg_server.sh stop $(PG_STATE)-rgw' EXIT; \
	  export AS_TEST_RGW_STATE=$$(realpath $(RGW_STATE)) AS_TEST_PG_URL=$$(cat $(PG_STATE)-rgw/url) \
	    AS_TEST_PG_STATE=$$(realpath $(PG_STATE)-rgw); \
	  $(BUILD)/bin/s3client_tests && \
	  AS_TEST_STORE_PACKS=s3 AS_TEST_STORE_METADATA=postgresql $(BUILD)/bin/store_tests && \
	  AS_TEST_STORE_PACKS=s3 AS_TEST_STORE_METADATA=postgresql $(BUILD)/bin/server_tests && \
	  bash tests/cli/run_all.sh $(BUILD)/bin/artifact-store && \
	  bash tests/server/clients/run_all.sh $(BUILD)/bin/artifact-store && \
	  echo "packs on RGW, metadata in SQLite:" && \
	  AS_TEST_STORE_PACKS=s3 $(BUILD)/bin/store_tests --gtest_brief=1 && \
	  env -u AS_TEST_PG_URL bash tests/cli/run_all.sh $(BUILD)/bin/artifact-store && \
	  env -u AS_TEST_PG_URL bash tests/server/clients/run_all.sh $(BUILD)/bin/artifact-store

# Every kernel variant and table tier against the reference (tools/kcheck).
kcheck: build
	$(BUILD)/bin/kcheck
	$(BUILD)/bin/kcheck --self-test > /dev/null

# The unit tests and kcheck again with -DAS_ENABLE_ASM=OFF (portable paths only).
$(NOASM_BUILD)/build.ninja:
	cmake -S . -B $(NOASM_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAS_ENABLE_ASM=OFF \
	  -DAS_BUILD_BENCH=OFF

noasm-test: setup $(NOASM_BUILD)/build.ninja
	cmake --build $(NOASM_BUILD) -j $(JOBS)
	cd $(NOASM_BUILD) && ctest --output-on-failure -j $(JOBS)
	$(NOASM_BUILD)/bin/kcheck

# Release (-O3) must compile warning-free too; GCC warns differently there. Nothing is run.
$(RELEASE_BUILD)/build.ninja:
	cmake -S . -B $(RELEASE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DAS_BUILD_BENCH=OFF

release-build: setup $(RELEASE_BUILD)/build.ninja
	cmake --build $(RELEASE_BUILD) -j $(JOBS)

# Includes follow the layers (tools/check_layering.py): CMake cannot see an
# upward include of a header-only piece.
layering: setup
	/usr/bin/python3 tools/check_layering.py

test: layering unit-test cli-test server-test pg-test rgw-test asan-test noasm-test release-build kcheck
	@echo "make test: all suites passed"

# libFuzzer (clang, ASan+UBSan) on every parser of untrusted bytes, FUZZ_SECONDS
# each (fuzz/fuzz.h); corpora kept in $(FUZZ_BUILD)/corpus. Not part of `test`:
# what it finds becomes a unit test.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= cbor manifest frame attrs xml uri http sigv4 chunked list server damage
$(FUZZ_BUILD)/build.ninja:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DAS_FUZZ=ON -DAS_SANITIZE=ON -DAS_BUILD_BENCH=OFF

fuzz:
	@bash scripts/setup.sh fuzz
	$(MAKE) $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) --target as_fuzz -j $(JOBS)
	bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

run: build
	@$(BUILD)/bin/artifact-store $(ARGS)

LISTEN ?= 127.0.0.1:9000
serve: build
	$(BUILD)/bin/artifact-store -s ./data serve --listen $(LISTEN)

bench: build
	bash bench/run.sh $(BUILD)/bin

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(NOASM_BUILD) $(FUZZ_BUILD) $(RELEASE_BUILD)
