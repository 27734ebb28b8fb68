#!/bin/bash
# Make a git work tree from the pristine base (first commit, tagged with
# the base's BASE_TAG) and apply the base's series on top with git am.
#
# Usage: DPDK_BASE=main|22.11 tools/make-tree.sh DEST [--force] [--upto N]
#   DEST     the tree to create (out/BASE/tree/src for editing,
#            out/BASE/series/src for checks); an existing DEST is refused
#            unless --force
#   --upto N apply only the first N patches of bases/BASE/series/series
set -eu
. "$(dirname "$0")/lib.sh"

dest=
force=false
upto=
while [ $# -gt 0 ]; do
	case $1 in
	--force) force=true ;;
	--upto) upto=$2; shift ;;
	-*) die "unknown option $1 (usage: $0 DEST [--force] [--upto N])" ;;
	*) dest=$1 ;;
	esac
	shift
done
[ -n "$dest" ] || die "usage: $0 DEST [--force] [--upto N]"
if [ -e "$dest" ] && ! $force; then
	die "$dest exists and may hold unexported work: export it (make export) and remove it, or use --force"
fi

"$TOP/tools/fetch-base.sh" >/dev/null

# Fixed identity and dates: the base commit has the same hash everywhere.
git_base() {
	GIT_AUTHOR_NAME=$BASE_COMMITTER_NAME GIT_AUTHOR_EMAIL=$BASE_COMMITTER_EMAIL \
	GIT_COMMITTER_NAME=$BASE_COMMITTER_NAME GIT_COMMITTER_EMAIL=$BASE_COMMITTER_EMAIL \
	GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
		git -C "$tmp" "$@"
}

tmp=$dest.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
cp -a "$BASE_SRC/." "$tmp/"
rm -f "$tmp/.base-sha256"
git_base init -q -b main
git_base config user.name "$SERIES_AUTHOR_NAME"
git_base config user.email "$SERIES_AUTHOR_EMAIL"
git_base config core.autocrlf false
git_base add -A -f
git_base commit -q --no-verify -m "DPDK $DPDK_VERSION (pristine $TARBALL)"
git_base tag "$BASE_TAG"

patches=$("$TOP/tools/series-list.sh") || { rm -rf "$tmp"; exit 1; }
n=0
for p in $patches; do
	n=$((n + 1))
	[ -n "$upto" ] && [ "$n" -gt "$upto" ] && break
	git -C "$tmp" am -q --whitespace=nowarn "$SERIES_DIR/$p" >/dev/null 2>&1 || {
		rm -rf "$tmp"
		die "bases/$DPDK_BASE/series/$p (patch $n) does not apply on the base + $((n - 1)) patch(es): rebase it in a work tree and export again"
	}
done
rm -rf "$dest"
mv "$tmp" "$dest"
note "tree ${dest#"$TOP"/}: base + $n patch(es)"
