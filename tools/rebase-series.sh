#!/bin/bash
# Replay the series of one base onto another base's pristine tarball and
# report, patch by patch: applied, applied with a 3-way merge, or failed
# with the files in conflict. A failed patch is skipped and the replay goes
# on, so the report shows how far each patch is from applying.
#
# Usage: tools/rebase-series.sh --from BASE --onto BASE [--keep DIR]
#   --keep DIR  leave the replayed tree in DIR (default: removed)
# Closes with `rebase FROM->ONTO: N applied, N applied 3-way, N failed`.
set -eu
TOOLS=$(cd "$(dirname "$0")" && pwd)
. "$TOOLS/lib.sh"

from=
onto=
keep=
usage="usage: $0 --from BASE --onto BASE [--keep DIR]"
while [ $# -gt 0 ]; do
	case $1 in
	--from) from=${2:?$usage}; shift ;;
	--onto) onto=${2:?$usage}; shift ;;
	--keep) keep=${2:?$usage}; shift ;;
	*) die "unknown argument $1 ($usage)" ;;
	esac
	shift
done
[ -n "$from" ] && [ -n "$onto" ] || die "$usage"
[ "$from" != "$onto" ] || die "--from and --onto name the same base ($from)"

work=$OUT/rebase/$from-onto-$onto
rm -rf "$work"
mkdir -p "$work"
# The source tree (its base + series) gives git am -3 the blobs the patches
# were made against; the target tree is the other base, pristine.
DPDK_BASE=$from "$TOOLS/make-tree.sh" "$work/from" --force >/dev/null
DPDK_BASE=$onto "$TOOLS/make-tree.sh" "$work/onto" --force --upto 0 >/dev/null
git -C "$work/onto" fetch -q "$work/from" main:refs/rebase/from

applied=0
merged=0
failed=0
n=0
for p in $(DPDK_BASE=$from "$TOOLS/series-list.sh"); do
	n=$((n + 1))
	patch=$TOP/bases/$from/series/$p
	if git -C "$work/onto" am -q "$patch" >/dev/null 2>&1; then
		echo "applied          $n $p"
		applied=$((applied + 1))
		continue
	fi
	git -C "$work/onto" am --abort >/dev/null 2>&1 || true
	if git -C "$work/onto" am -q -3 "$patch" >/dev/null 2>&1; then
		echo "applied (3-way)  $n $p"
		merged=$((merged + 1))
		continue
	fi
	files=$(git -C "$work/onto" diff --name-only --diff-filter=U | tr '\n' ' ')
	[ -n "$files" ] || files="(patch does not apply: $(git -C "$work/onto" am --show-current-patch=diff 2>/dev/null | grep -c '^diff --git') file(s), no merge base)"
	echo "failed           $n $p: $files"
	failed=$((failed + 1))
	git -C "$work/onto" am --abort >/dev/null 2>&1 || true
done
if [ -n "$keep" ]; then
	rm -rf "$keep"
	mv "$work/onto" "$keep"
fi
rm -rf "$work"
echo "rebase $from->$onto: $applied applied, $merged applied 3-way, $failed failed"
