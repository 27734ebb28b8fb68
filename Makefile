# The two commands of the README (`make demo`, `make check`) and the edit
# loop (`make tree`, `make export`). Everything generated goes to out/.
# A base is a data directory bases/NAME (main: DPDK main 26.11-rc0, the
# primary; 22.11: v22.11.11, the backport); DPDK_BASE picks one for the
# single-base targets, BASES lists the ones `make check` and `make bench`
# run.
#
# make demo     build, then run dpdk-testpmd as uid 1000 through an IOMMU
# make check    everything CI runs, for every base in BASES
# make build    base and series trees of DPDK_BASE, series tip only
# make series   build after each patch + style checks (DPDK_BASE)
# make bench    benchmarks, base against series, for every base
# make tree     out/DPDK_BASE/tree/src: a git tree of base + series to edit
# make export   commits of that tree back into bases/DPDK_BASE/series/
# make style    checkpatches.sh + check-git-log.sh on that tree
# make build-tree  build that tree into out/DPDK_BASE/tree/build
# make rebase-report  replay the 22.11 series onto main, patch by patch
# make abi      abidiff of the series' shared libraries against the base's

SHELL := /bin/bash
OUT := $(CURDIR)/out
PY := /usr/bin/python3
BASES := main 22.11
DPDK_BASE ?= main
DEMO_BASE ?= main
export DPDK_BASE

base_build = $(OUT)/$(1)/base/build
series_build = $(OUT)/$(1)/series/build

.PHONY: all deps build series check demo demo-host bench tree export style \
	build-tree rebase-report abi clean

all: check

deps:
	tools/install-deps.sh build check testbed bench

build:
	tools/install-deps.sh build
	tools/build-trees.sh

# Builds the base, applies the series on it, builds after each patch and
# leaves out/DPDK_BASE/series/build.
series:
	tools/install-deps.sh build check
	tools/check-series.sh

# The stages of one base; each is a runner closing with `N passed, N
# failed`; tools/check.sh runs them all and prints the sum.
base_stages = \
	"DPDK_BASE=$(1) tools/check-series.sh" \
	"$(PY) tests/run-host-tests.py --dpdk-base $(1) $(call base_build,$(1)) $(call series_build,$(1))" \
	"$(PY) tests/run-fast-tests.py --dpdk-base $(1) $(call base_build,$(1)) $(call series_build,$(1))" \
	"$(PY) tests/run-user-check-tests.py --dpdk-base $(1) $(OUT)/$(1)/series/src $(call series_build,$(1))" \
	"$(PY) testbed/fetch-assets.py && $(PY) testbed/run-scenarios.py --dpdk-base $(1) --required --base $(call base_build,$(1)) $(call series_build,$(1))" \
	"$(PY) bench/run-bench.py --quick --out $(OUT)/$(1)/bench --base-build $(call base_build,$(1)) --series-build $(call series_build,$(1))"

CHECK_STAGES := "$(PY) tests/test-tooling.py" \
	$(foreach b,$(BASES),$(call base_stages,$(b)))

check: deps
	tools/check.sh $(CHECK_STAGES)

# The guest: dpdk-testpmd as uid 1000 through an emulated IOMMU.
demo:
	tools/install-deps.sh build testbed
	DPDK_BASE=$(DEMO_BASE) tools/build-trees.sh
	$(PY) testbed/fetch-assets.py
	$(PY) testbed/demo.py $(call series_build,$(DEMO_BASE))

# Without the guest: testpmd with two net_null ports as the test user.
demo-host:
	tools/install-deps.sh build check
	DPDK_BASE=$(DEMO_BASE) tools/build-trees.sh
	$(PY) tools/demo-host.py $(call series_build,$(DEMO_BASE))

bench: deps
	$(PY) testbed/fetch-assets.py
	for b in $(BASES); do \
		DPDK_BASE=$$b tools/build-trees.sh && \
		$(PY) bench/run-bench.py --out $(OUT)/$$b/bench \
			--base-build $(OUT)/$$b/base/build \
			--series-build $(OUT)/$$b/series/build || exit 1; \
	done

tree:
	tools/install-deps.sh build
	tools/make-tree.sh $(OUT)/$(DPDK_BASE)/tree/src

export:
	tools/export-series.sh $(OUT)/$(DPDK_BASE)/tree/src

style:
	tools/install-deps.sh check
	tools/check-style.sh $(OUT)/$(DPDK_BASE)/tree/src

build-tree:
	tools/install-deps.sh build
	tools/build.sh $(OUT)/$(DPDK_BASE)/tree/src $(OUT)/$(DPDK_BASE)/tree/build

rebase-report:
	tools/install-deps.sh build
	tools/rebase-series.sh --from 22.11 --onto main

abi:
	tools/install-deps.sh build abi
	tools/check-abi.sh

clean:
	rm -rf $(OUT)
