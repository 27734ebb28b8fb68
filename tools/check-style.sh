#!/bin/bash
# Check the series commits of a work tree the way DPDK does: the base's
# devtools/checkpatches.sh (with the kernel's checkpatch.pl from Debian's
# linux-source-6.1) and devtools/check-git-log.sh, on base..HEAD.
#
# Usage: DPDK_BASE=main|22.11 tools/check-style.sh [TREE]
#        (default out/$DPDK_BASE/tree/src)
set -eu
. "$(dirname "$0")/lib.sh"

tree=$(cd "${1:-$TREE_SRC}" && pwd) || die "no work tree ${1:-$TREE_SRC}"
CHECKPATCH_DIR=$OUT/checkpatch
KSRC=/usr/src/linux-source-6.1.tar.xz

# checkpatch.pl reads spelling.txt and const_structs.checkpatch beside it.
extract_checkpatch() {
	local f tmp=$CHECKPATCH_DIR.tmp
	[ -f "$KSRC" ] || die "$KSRC is missing: run tools/install-deps.sh check (package linux-source-6.1)"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	tar -xJf "$KSRC" -C "$tmp" --strip-components=2 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch' ||
		die "cannot extract checkpatch.pl from $KSRC"
	for f in checkpatch.pl spelling.txt const_structs.checkpatch; do
		[ -f "$tmp/$f" ] || die "$KSRC has no scripts/$f"
	done
	rm -rf "$CHECKPATCH_DIR"
	mv "$tmp" "$CHECKPATCH_DIR"
}

git -C "$tree" rev-parse -q --verify "refs/tags/$BASE_TAG" >/dev/null ||
	die "$tree is not a work tree made by tools/make-tree.sh (no tag $BASE_TAG)"
[ -f "$CHECKPATCH_DIR/checkpatch.pl" ] || extract_checkpatch
# mawk cannot compile checkpatches.sh's awk filters: every patch would be
# reported invalid.
awk --version 2>/dev/null | grep -q 'GNU Awk' ||
	die "awk is not GNU awk: run tools/install-deps.sh check (package gawk)"

range=$BASE_TAG..HEAD
count=$(git -C "$tree" rev-list --count "$range")
if [ "$count" = 0 ]; then
	note "style: no series commits in ${tree#"$TOP"/}"
	exit 0
fi
cd "$tree"
# The settings DPDK's CI uses; a devel.config may still add to them. The
# tree has no upstream history (it is made from a tarball), so the ids of
# Fixes: tags cannot resolve there: checkpatch.pl's UNKNOWN_COMMIT_ID is
# off and check-git-log.sh's "Wrong 'Fixes' reference" entries are taken
# out; tools/check-fixes-tags.sh checks every tag against the base's
# record of upstream commits instead.
export DPDK_CHECKPATCH_PATH=$CHECKPATCH_DIR/checkpatch.pl
export DPDK_CHECKPATCH_CODESPELL=enable
export DPDK_CHECKPATCH_OPTIONS="--ignore UNKNOWN_COMMIT_ID"
export DPDK_CHECKPATCH_LINE_LENGTH=100
log=$BASE_OUT/checkpatch.log
ok=true
devtools/checkpatches.sh -r "$range" >"$log" 2>&1 || ok=false
"$TOP/tools/check-fixes-tags.sh" "$tree" >>"$log" 2>&1 || ok=false
gitlog=$(devtools/check-git-log.sh -r "$range" 2>&1) || {
	# Fail on anything but the unresolvable Fixes: references.
	rest=$(echo "$gitlog" | sed -e "/^Wrong 'Fixes' reference:\$/d" \
		-e '/^\tFixes: [0-9a-f]* (".*")$/d' \
		-e '/^Invalid patch(es) found - checked [0-9]* patch/d' -e '/^$/d')
	[ -z "$rest" ] || ok=false
}
echo "$gitlog" >>"$log"
# checkpatches.sh reports warnings as invalid patches; require none at all.
if ! $ok || grep -q '^\(WARNING\|ERROR\|CHECK\):' "$log"; then
	cat "$log" >&2
	die "style check of $count series commit(s) failed (see above)"
fi
note "style: $count series commit(s) pass checkpatches.sh and check-git-log.sh"
