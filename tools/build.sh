#!/bin/bash
# Configure (once) and build one DPDK tree with the project's options.
#
# Usage: tools/build.sh SRC_DIR BUILD_DIR
# Both trees (base and base + series) are built with exactly these options
# so that every comparison is side by side.
set -eu
. "$(dirname "$0")/lib.sh"

[ $# = 2 ] || die "usage: $0 SRC_DIR BUILD_DIR"
src=$1
build=$2
[ -f "$src/meson.build" ] || die "$src is not a DPDK source tree (run make tree or tools/fetch-base.sh)"

MESON_OPTIONS="
	-Ddefault_library=static
	-Dplatform=generic
	-Dbuildtype=release
	-Dtests=true
	-Denable_apps=test-pmd,test
	-Denable_drivers=bus/pci,bus/vdev,mempool/ring,mempool/stack,net/virtio,net/e1000,net/ring,net/null
	-Denable_docs=false
	-Dwerror=true
"

# A build directory is trusted only if its configure step completed with the
# current options; otherwise it is configured from scratch.
stamp=$build/.project-options
# shellcheck disable=SC2086
wanted=$(echo $MESON_OPTIONS)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] || [ ! -f "$build/build.ninja" ]; then
	rm -rf "$build"
	mkdir -p "$(dirname "$build")"
	note "configuring ${build#"$TOP"/}"
	# shellcheck disable=SC2086
	CC="ccache gcc" meson setup $MESON_OPTIONS "$build" "$src" \
		>"$build.configure.log" 2>&1 ||
		die "meson setup of $src failed, see ${build#"$TOP"/}.configure.log"
	mv "$build.configure.log" "$build/configure.log"
	echo "$wanted" >"$stamp"
fi
note "building ${build#"$TOP"/}"
ninja -C "$build" >"$build/build.log" 2>&1 || {
	grep -m5 -E 'error|FAILED' "$build/build.log" >&2 || true
	die "build of $src failed, see ${build#"$TOP"/}/build.log"
}
