#!/bin/bash
# Build the two trees of one base, and nothing else: the pristine base into
# out/BASE/base/build and base + the whole series into out/BASE/series/build
# (the series tip only: tools/check-series.sh builds after each patch and
# runs the style checks).
#
# Usage: DPDK_BASE=main|22.11 tools/build-trees.sh
set -eu
. "$(dirname "$0")/lib.sh"

"$TOP/tools/fetch-base.sh"
"$TOP/tools/build.sh" "$BASE_SRC" "$BASE_BUILD"
"$TOP/tools/make-tree.sh" "$SERIES_SRC" --force
"$TOP/tools/build.sh" "$SERIES_SRC" "$SERIES_BUILD"
note "built ${BASE_BUILD#"$TOP"/} and ${SERIES_BUILD#"$TOP"/}"
