#!/bin/bash
# Both builds and series hygiene of one base: build the pristine base into
# out/BASE/base/build, make out/BASE/series/src from the base + its series,
# build that tree after each patch (incrementally, with ccache) and run
# the base tree's style checks. Leaves out/BASE/series/build as the build
# of the whole series. Prints one PASS/FAIL/SKIP line per check and a
# closing `series BASE: N passed, N failed[, N skipped]`.
#
# Usage: DPDK_BASE=main|22.11 tools/check-series.sh
set -eu
. "$(dirname "$0")/lib.sh"

passed=0
failed=0
skipped=0
result() {
	case $1 in
	PASS) passed=$((passed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
	echo "$1: [$DPDK_BASE] $2"
}
finish() {
	if [ "$skipped" = 0 ]; then
		echo "series-$DPDK_BASE: $passed passed, $failed failed"
	else
		echo "series-$DPDK_BASE: $passed passed, $failed failed, $skipped skipped"
	fi
	[ "$failed" = 0 ]
}

# A build without IOVA as PA carries the VA in the mbuf, so it cannot
# default to dense IOVAs: meson must stop at configure (issue 12 item 3).
check_dense_needs_iova_as_pa() {
	what="configure refuses default_iova_mode=dense with enable_iova_as_pa=false"
	if ! grep -q "option('default_iova_mode'" "$SERIES_SRC/meson_options.txt"; then
		result SKIP "$what (this series has no default_iova_mode option)"
		return
	fi
	dir=$(mktemp -d)
	if meson setup -Denable_iova_as_pa=false -Ddefault_iova_mode=dense \
		"$dir/build" "$SERIES_SRC" > "$dir/log" 2>&1; then
		result FAIL "$what (meson setup succeeded)"
	elif grep -q 'default_iova_mode=dense needs enable_iova_as_pa=true' "$dir/log"; then
		result PASS "$what"
	else
		result FAIL "$what (meson failed without the error: $(tail -n 1 "$dir/log"))"
	fi
	rm -rf "$dir"
}

if "$TOP/tools/fetch-base.sh" >/dev/null &&
	"$TOP/tools/build.sh" "$BASE_SRC" "$BASE_BUILD" >/dev/null; then
	result PASS "base DPDK $DPDK_VERSION builds"
else
	result FAIL "base DPDK $DPDK_VERSION builds"
fi

if ! "$TOP/tools/make-tree.sh" "$SERIES_SRC" --force; then
	result FAIL "series applies on the pristine base"
	finish || exit 1
fi
n=$(git -C "$SERIES_SRC" rev-list --count "$BASE_TAG..HEAD")
result PASS "series ($n patches) applies in order on the pristine base"

# Build the base commit too when the series is empty, so that
# out/series/build always exists and equals base + series.
commits=$(git -C "$SERIES_SRC" rev-list --reverse "$BASE_TAG..HEAD")
[ -n "$commits" ] || commits=$(git -C "$SERIES_SRC" rev-parse HEAD)
i=0
for c in $commits; do
	i=$((i + 1))
	subject=$(git -C "$SERIES_SRC" log -1 --format=%s "$c")
	git -C "$SERIES_SRC" checkout -q --detach "$c"
	what="builds after patch $i/$n: $subject"
	[ "$n" = 0 ] && what="series tree builds (no patches yet)"
	if "$TOP/tools/build.sh" "$SERIES_SRC" "$SERIES_BUILD" >/dev/null; then
		result PASS "$what"
	else
		result FAIL "$what (see ${SERIES_BUILD#"$TOP"/}/build.log)"
		# Later patches cannot be judged on a broken tree.
		git -C "$SERIES_SRC" checkout -q main
		finish || exit 1
	fi
done
git -C "$SERIES_SRC" checkout -q main
check_dense_needs_iova_as_pa

if "$TOP/tools/check-style.sh" "$SERIES_SRC"; then
	result PASS "checkpatches.sh and check-git-log.sh on $n patches"
else
	result FAIL "checkpatches.sh and check-git-log.sh on $n patches (see ${BASE_OUT#"$TOP"/}/checkpatch.log)"
fi
finish
