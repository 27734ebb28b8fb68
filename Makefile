# The two commands of the README (`make demo`, `make check`) and the edit
# loop (`make tree`, `make export`). Everything generated goes to out/.
#
# make demo     build, then run dpdk-testpmd as uid 1000 through an IOMMU
# make check    series hygiene, both builds, host tests (what CI runs)
# make bench    benchmarks, base against series
# make tree     out/tree/src: a git tree of base + series to edit
# make export   commits of out/tree/src back into series/
# make style    checkpatches.sh + check-git-log.sh on out/tree/src
# make build-tree  build out/tree/src into out/tree/build

SHELL := /bin/bash
OUT := $(CURDIR)/out
PY := /usr/bin/python3
BASE_BUILD := $(OUT)/base/build
SERIES_BUILD := $(OUT)/series/build

.PHONY: all deps base series check demo demo-host bench tree export style build-tree clean

all: check

deps:
	tools/install-deps.sh build check testbed bench

base: deps
	tools/fetch-base.sh
	tools/build.sh $(OUT)/base/src $(BASE_BUILD)

# Builds the base, applies the series on it, builds after each patch and
# leaves out/series/build.
series: deps
	tools/check-series.sh

# Each stage is a runner closing with `N passed, N failed`; tools/check.sh
# runs them all and prints the sum.
CHECK_STAGES := \
	"$(PY) tests/test-tooling.py" \
	"tools/check-series.sh" \
	"$(PY) tests/run-host-tests.py $(BASE_BUILD) $(SERIES_BUILD)" \
	"$(PY) tests/run-fast-tests.py $(BASE_BUILD) $(SERIES_BUILD)" \
	"$(PY) testbed/fetch-assets.py && $(PY) testbed/run-scenarios.py --required --base $(BASE_BUILD) $(SERIES_BUILD)" \
	"$(PY) bench/run-bench.py --quick --base-build $(BASE_BUILD) --series-build $(SERIES_BUILD)"

check: deps
	tools/check.sh $(CHECK_STAGES)

# The guest: dpdk-testpmd as uid 1000 through an emulated IOMMU.
demo: series
	$(PY) testbed/fetch-assets.py
	$(PY) testbed/demo.py $(SERIES_BUILD)

# Without the guest: testpmd with two net_null ports as the test user.
demo-host: series
	$(PY) tools/demo-host.py $(SERIES_BUILD)

bench: series
	$(PY) testbed/fetch-assets.py
	$(PY) bench/run-bench.py --base-build $(BASE_BUILD) --series-build $(SERIES_BUILD)

tree: deps
	tools/make-tree.sh $(OUT)/tree/src

export:
	tools/export-series.sh $(OUT)/tree/src

style: deps
	tools/check-style.sh $(OUT)/tree/src

build-tree: deps
	tools/build.sh $(OUT)/tree/src $(OUT)/tree/build

clean:
	rm -rf $(OUT)
