#!/bin/bash
# Install, through apt-get, the Debian packages a job needs. Idempotent: it
# calls apt-get only when something is missing.
#
# Usage: tools/install-deps.sh build|check|bench|testbed|abi ...
set -eu
. "$(dirname "$0")/lib.sh"

pkgs_for() {
	case $1 in
	build) echo build-essential meson ninja-build pkg-config ccache \
		python3-pyelftools libnuma-dev xz-utils git ;;
	# gawk: checkpatches.sh's awk filters do not compile with mawk.
	# jq: the telemetry autotests of the fast-tests suite.
	check) echo gawk codespell linux-source-6.1 util-linux mount procps \
		passwd jq ;;
	bench) echo python3-matplotlib ;;
	abi) echo abigail-tools ;;
	testbed) echo busybox-static cpio strace kmod pciutils qemu-system-x86 ;;
	*) die "unknown dependency set '$1' (build, check, bench, testbed, abi)" ;;
	esac
}

want=
for set in "$@"; do
	want="$want $(pkgs_for "$set")"
done
missing=
for p in $want; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
[ "$(id -u)" = 0 ] || die "missing packages:$missing; run as root or install them"
note "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || die "apt-get update failed"
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
	die "apt-get install$missing failed"
