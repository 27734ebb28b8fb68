#!/bin/bash
# Check the Fixes: tags of a work tree's series commits against the base's
# record of upstream commits (bases/$DPDK_BASE/upstream-commits.txt: one
# "<40-hex id> <subject>" line per commit a Fixes: tag may cite). A tree
# made from a tarball has no upstream history, so DPDK's own checks
# (checkpatch.pl's UNKNOWN_COMMIT_ID, check-git-log.sh's "Wrong 'Fixes'
# reference") cannot resolve the ids; this does it from the record.
# With --verify GITDIR, check the record itself against a DPDK clone.
#
# Usage: DPDK_BASE=main tools/check-fixes-tags.sh TREE
#        DPDK_BASE=main tools/check-fixes-tags.sh --verify GITDIR
# Prints one line per bad tag or record entry; exit 1 if there is any.
set -eu
. "$(dirname "$0")/lib.sh"

record=$BASE_DIR/upstream-commits.txt

if [ "${1:-}" = --verify ]; then
	gitdir=${2:?usage: $0 --verify GITDIR}
	bad=0
	while read -r id subject; do
		real=$(git --git-dir="$gitdir" log -1 --format=%s "$id" 2>/dev/null) ||
			real="(no such commit)"
		if [ "$real" != "$subject" ]; then
			echo "bases/$DPDK_BASE/upstream-commits.txt: $id is \"$real\", recorded \"$subject\""
			bad=1
		fi
	done < <(grep -v '^#' "$record" 2>/dev/null | grep .)
	exit $bad
fi

tree=${1:?usage: $0 TREE}
bad=0
while IFS= read -r line; do
	hash=$(echo "$line" | sed -n 's/^Fixes: \([0-9a-f]\{12,40\}\) (".*")$/\1/p')
	subject=$(echo "$line" | sed -n 's/^Fixes: [0-9a-f]* ("\(.*\)")$/\1/p')
	if [ -z "$hash" ]; then
		echo "malformed tag (want: Fixes: <12+ hex> (\"subject\")): $line"
		bad=1
	elif ! grep -q "^$hash[0-9a-f]* $(printf '%s' "$subject" | sed 's/[][\.*^$/]/\\&/g')\$" "$record" 2>/dev/null; then
		echo "$line: not in bases/$DPDK_BASE/upstream-commits.txt (add \"<full id> <subject>\" after checking it in a DPDK clone)"
		bad=1
	fi
done < <(git -C "$tree" log --format=%b "$BASE_TAG..HEAD" | grep '^Fixes:' || true)
exit $bad
