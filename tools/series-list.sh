#!/bin/bash
# Print the patch file names of bases/$DPDK_BASE/series/series in order
# (quilt's format: one name per line, '#' comments and blank lines
# ignored), checking that each exists.
set -eu
. "$(dirname "$0")/lib.sh"

[ -f "$SERIES_DIR/series" ] || die "bases/$DPDK_BASE/series/series is missing"
sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$SERIES_DIR/series" |
while read -r p _; do
	[ -f "$SERIES_DIR/$p" ] || die "bases/$DPDK_BASE/series/series lists $p, which is not in bases/$DPDK_BASE/series/"
	echo "$p"
done
