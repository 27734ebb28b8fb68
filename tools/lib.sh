# Shared definitions for the project's shell tools. Source it; do not run it.
#
# Every tool works on one base, a data directory bases/$DPDK_BASE (default
# main): base.conf (the pinned tarball and its hash, the series identity,
# the test runs that apply), series/ (the patches and their order).
# shellcheck shell=bash

set -o pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$TOP/out}
# The project's shared folder (the pinned upstream tarballs), beside the
# checkout unless said otherwise.
SHARED=${SHARED:-$TOP/../shared}
DPDK_BASE=${DPDK_BASE:-main}
BASE_DIR=$TOP/bases/$DPDK_BASE

# Print one line naming what failed and exit non-zero.
die() {
	echo "error: $*" >&2
	exit 1
}

note() {
	echo "== $*"
}

[ -f "$BASE_DIR/base.conf" ] ||
	die "unknown base '$DPDK_BASE': no bases/$DPDK_BASE/base.conf (known: $(cd "$TOP/bases" && ls -d -- */ | tr -d / | tr '\n' ' '))"
# shellcheck source=../bases/main/base.conf
. "$BASE_DIR/base.conf"

# The drivers every build of the project enables: the test bed's NICs
# (virtio, e1000e), the host tests' ports (ring, null) and their buses.
DPDK_DRIVERS=bus/pci,bus/vdev,mempool/ring,mempool/stack,net/virtio,net/e1000,net/ring,net/null

DL_DIR=$OUT/dl
BASE_OUT=$OUT/$DPDK_BASE
BASE_SRC=$BASE_OUT/base/src
BASE_BUILD=$BASE_OUT/base/build
SERIES_SRC=$BASE_OUT/series/src
SERIES_BUILD=$BASE_OUT/series/build
TREE_SRC=$BASE_OUT/tree/src
SERIES_DIR=$BASE_DIR/series

# The identity the pristine base commit is made with (not a series author).
BASE_COMMITTER_NAME="DPDK base"
BASE_COMMITTER_EMAIL="base@invalid"

# Debian's python3 (with python3-pyelftools) before any user-installed one.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

# ccache shared by every build tree: paths below $OUT are made relative and
# the build directory is not hashed, so out/*/base/build and
# out/*/series/build (all ../src relative to their build) share every
# unchanged object.
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$OUT
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
