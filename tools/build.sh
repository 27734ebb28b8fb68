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
	-Denable_drivers=$DPDK_DRIVERS
	-Denable_docs=false
	-Dwerror=true
"

NR_HUGEPAGES=/proc/sys/vm/nr_hugepages

# app/test/meson.build leaves every hugepage test (memory, malloc, memzone,
# mempool, eal_flags ...) out of the suites when the kernel's pool is empty
# when meson runs. Meson runs at setup and again inside ninja whenever a
# patch changed a meson.build, so both steps run with one page in the pool.
with_pool_page() {
	local before rc=0
	before=$(cat "$NR_HUGEPAGES")
	if [ "$before" = 0 ]; then
		[ "$(id -u)" = 0 ] ||
			die "configuring needs hugepages in the pool (else app/test drops its hugepage tests): run as root or echo 1 > $NR_HUGEPAGES"
		echo 1 >"$NR_HUGEPAGES"
	fi
	"$@" || rc=$?
	if [ "$before" = 0 ]; then
		echo 0 >"$NR_HUGEPAGES"
	fi
	return $rc
}

configure() {
	# shellcheck disable=SC2086
	CC="ccache gcc" with_pool_page meson setup $MESON_OPTIONS "$build" "$src" \
		>"$build.configure.log" 2>&1 ||
		die "meson setup of $src failed, see ${build#"$TOP"/}.configure.log"
	grep -q 'hugepage availability: true' "$build.configure.log" ||
		die "meson did not see hugepages while configuring $build: see ${build#"$TOP"/}.configure.log"
	mv "$build.configure.log" "$build/configure.log"
}

# A build directory is trusted only if its configure step completed with the
# current options; otherwise it is configured from scratch.
stamp=$build/.project-options
# shellcheck disable=SC2086
wanted=$(echo $MESON_OPTIONS)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] || [ ! -f "$build/build.ninja" ] ||
	! grep -q 'hugepage availability: true' "$build/configure.log"; then
	rm -rf "$build"
	mkdir -p "$(dirname "$build")"
	note "configuring ${build#"$TOP"/}"
	configure
	echo "$wanted" >"$stamp"
fi
note "building ${build#"$TOP"/}"
with_pool_page ninja -C "$build" >"$build/build.log" 2>&1 || {
	grep -m5 -E 'error|FAILED' "$build/build.log" >&2 || true
	die "build of $src failed, see ${build#"$TOP"/}/build.log"
}
# A regeneration inside ninja that saw no hugepages would have dropped the
# hugepage tests from the suites without failing the build.
if grep -q 'hugepage availability: false' "$build/build.log"; then
	rm -f "$stamp"
	die "meson re-ran inside ninja without hugepages, so app/test lost its hugepage tests: see ${build#"$TOP"/}/build.log"
fi
