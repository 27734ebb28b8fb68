#!/bin/bash
# Fetch the pinned tarball of a base (bases/$DPDK_BASE/base.conf): from the
# project's shared folder, or as the pristine orig tarball of Debian's
# source package (no Debian patches applied); check its sha256 and extract
# it into out/$DPDK_BASE/base/src.
#
# Usage: DPDK_BASE=main|22.11 tools/fetch-base.sh
set -eu
. "$(dirname "$0")/lib.sh"

SRC_LIST=/etc/apt/sources.list.d/dpdk-series-deb-src.sources

sha_ok() {
	[ -f "$1" ] && echo "$TARBALL_SHA256  $1" | sha256sum --quiet -c - 2>/dev/null
}

# apt-get source needs a deb-src entry; add one for the base's suite when
# the machine has none.
ensure_deb_src() {
	if apt-get indextargets 2>/dev/null | grep -q '^MetaKey: .*/source/Sources'; then
		return
	fi
	note "adding a deb-src entry for $DEBIAN_SUITE ($SRC_LIST)"
	cat >"$SRC_LIST" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	apt-get update -qq || die "apt-get update failed after adding $SRC_LIST"
}

# Copy the tarball from the project's shared folder.
copy_shared_tarball() {
	local from=$SHARED/$SHARED_TARBALL
	[ -f "$from" ] ||
		die "$from is missing: the project's shared folder must sit beside the checkout (or set SHARED=DIR)"
	sha_ok "$from" ||
		die "$from: sha256 mismatch: expected $TARBALL_SHA256, got $(sha256sum "$from" | cut -d' ' -f1)"
	cp "$from" "$DL_DIR/$TARBALL.tmp"
	mv "$DL_DIR/$TARBALL.tmp" "$DL_DIR/$TARBALL"
}

# Download the orig tarball with apt-get source. The pinned Debian revision
# is tried first; any other revision of the same upstream version ships the
# same orig tarball, which the sha256 check proves.
download_tarball() {
	local tmp=$DL_DIR/apt.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	ensure_deb_src
	(cd "$tmp" && apt-get source -qq --download-only \
		"$DEBIAN_SOURCE=$DEBIAN_VERSION" >/dev/null 2>&1) ||
	(cd "$tmp" && apt-get source -qq --download-only \
		"$DEBIAN_SOURCE" >/dev/null 2>&1) ||
		die "apt-get source $DEBIAN_SOURCE=$DEBIAN_VERSION failed: check the network and the deb-src entry in $SRC_LIST"
	[ -f "$tmp/$TARBALL" ] ||
		die "Debian's $DEBIAN_SOURCE source package has no $TARBALL (upstream moved on?): pin a new base in bases/$DPDK_BASE/base.conf"
	sha_ok "$tmp/$TARBALL" ||
		die "$TARBALL sha256 mismatch: expected $TARBALL_SHA256, got $(sha256sum "$tmp/$TARBALL" | cut -d' ' -f1)"
	mv "$tmp/$TARBALL" "$DL_DIR/$TARBALL"
	rm -rf "$tmp"
}

extract_tarball() {
	local tmp=$BASE_SRC.tmp
	rm -rf "$tmp" "$BASE_SRC"
	mkdir -p "$tmp"
	tar -xJf "$DL_DIR/$TARBALL" -C "$tmp" --strip-components=1 ||
		die "cannot extract $DL_DIR/$TARBALL"
	[ -f "$tmp/VERSION" ] && [ "$(cat "$tmp/VERSION")" = "$DPDK_VERSION" ] ||
		die "$TARBALL does not contain DPDK $DPDK_VERSION"
	echo "$TARBALL_SHA256" >"$tmp/.base-sha256"
	mv "$tmp" "$BASE_SRC"
}

mkdir -p "$DL_DIR"
if ! sha_ok "$DL_DIR/$TARBALL"; then
	[ -f "$DL_DIR/$TARBALL" ] && note "cached $TARBALL is corrupt, fetching again"
	rm -f "$DL_DIR/$TARBALL"
	case $TARBALL_FROM in
	shared) note "copying $TARBALL from the shared folder"
		copy_shared_tarball ;;
	debian) note "fetching $TARBALL ($DEBIAN_SOURCE $DEBIAN_VERSION)"
		download_tarball ;;
	*) die "bases/$DPDK_BASE/base.conf: TARBALL_FROM=$TARBALL_FROM (known: shared, debian)" ;;
	esac
fi
# The extracted tree is trusted only when it was made from this tarball.
if [ "$(cat "$BASE_SRC/.base-sha256" 2>/dev/null)" != "$TARBALL_SHA256" ]; then
	note "extracting $TARBALL into ${BASE_SRC#"$TOP"/}"
	extract_tarball
fi
note "base $DPDK_BASE: DPDK $DPDK_VERSION in ${BASE_SRC#"$TOP"/}"
