#!/bin/bash
# Export the commits above the base in a work tree back into
# bases/$DPDK_BASE/series/ as git format-patch files, and rewrite its
# series file. The output is stable: no version signature, zero commit
# hashes, unnumbered subjects, so a diff of series/ shows only real
# changes.
#
# Usage: DPDK_BASE=main|22.11 tools/export-series.sh [TREE]
#        (default out/$DPDK_BASE/tree/src)
set -eu
. "$(dirname "$0")/lib.sh"

tree=${1:-$TREE_SRC}
git -C "$tree" rev-parse -q --verify "refs/tags/$BASE_TAG" >/dev/null ||
	die "$tree is not a work tree made by tools/make-tree.sh (no tag $BASE_TAG)"
[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
	die "$tree has uncommitted changes: commit them (git commit --fixup) first"
if git -C "$tree" log --format=%s "$BASE_TAG..HEAD" | grep -q '^\(fixup\|squash\)! '; then
	die "$tree has fixup!/squash! commits: run git rebase -i --autosquash $BASE_TAG first"
fi

tmp=$SERIES_DIR.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
git -C "$tree" format-patch -q --zero-commit --no-signature --no-numbered \
	-o "$tmp" "$BASE_TAG..HEAD" ||
	die "git format-patch failed in $tree"
{
	echo "# The series, in the order git am (or quilt) applies it on DPDK $DPDK_VERSION."
	(cd "$tmp" && ls -1 -- *.patch 2>/dev/null) || true
} >"$tmp/series"
rm -f "$SERIES_DIR"/*.patch
mv "$tmp"/* "$SERIES_DIR/"
rmdir "$tmp"
note "exported $(grep -c '\.patch$' "$SERIES_DIR/series" || true) patch(es) to bases/$DPDK_BASE/series/"
