#!/bin/bash
# Compare the ABI of the series' libraries with the pristine base's, with
# DPDK's own devtools/check-abi.sh (libabigail's abidiff, the tree's
# suppression file): both trees are built as shared libraries with debug
# information, installed without static libraries and programs, and
# diffed library by library. The report goes to out/BASE/abi/report.txt.
#
# Usage: DPDK_BASE=main|22.11 tools/check-abi.sh
set -eu
. "$(dirname "$0")/lib.sh"

ABI_OUT=$BASE_OUT/abi
ABI_OPTIONS="
	-Ddefault_library=shared
	-Dbuildtype=debugoptimized
	-Dplatform=generic
	-Dtests=false
	-Denable_apps=
	-Dexamples=
	-Denable_docs=false
	-Denable_drivers=$DPDK_DRIVERS
"

# Build and install one tree: SRC NAME -> $ABI_OUT/NAME/install
abi_install() {
	local src=$1 dir=$ABI_OUT/$2
	mkdir -p "$dir"
	if [ ! -f "$dir/build/build.ninja" ]; then
		# shellcheck disable=SC2086
		CC="ccache gcc" meson setup $ABI_OPTIONS "$dir/build" "$src" \
			>"$dir/build.log" 2>&1 ||
			die "meson setup of $src failed, see ${dir#"$TOP"/}/build.log"
	fi
	note "building ${dir#"$TOP"/}/build (shared, debug info)"
	ninja -C "$dir/build" >>"$dir/build.log" 2>&1 ||
		die "build of $src failed, see ${dir#"$TOP"/}/build.log"
	rm -rf "$dir/install"
	DESTDIR="$dir/install" meson install -C "$dir/build" --no-rebuild \
		>>"$dir/build.log" 2>&1 ||
		die "install of $src failed, see ${dir#"$TOP"/}/build.log"
	find "$dir/install" -name '*.a' -delete
	rm -rf "$dir/install/usr/local/bin" "$dir/install/usr/local/share"
}

"$TOP/tools/fetch-base.sh" >/dev/null
"$TOP/tools/make-tree.sh" "$SERIES_SRC" --force >/dev/null
abi_install "$BASE_SRC" base
abi_install "$SERIES_SRC" series
report=$ABI_OUT/report.txt
note "abidiff of every library (${report#"$TOP"/})"
if "$SERIES_SRC/devtools/check-abi.sh" "$ABI_OUT/base/install" \
		"$ABI_OUT/series/install" >"$report" 2>&1; then
	note "abi $DPDK_BASE: no ABI change reported between the base and the series"
else
	grep -E '^Error|ABIDIFF|changed|\[C\]|\[D\]' "$report" | head -40 >&2 || true
	die "abi $DPDK_BASE: abidiff reports changes (see ${report#"$TOP"/})"
fi
