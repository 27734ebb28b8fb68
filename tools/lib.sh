# Shared definitions for the project's shell tools. Source it; do not run it.
# shellcheck shell=bash

set -o pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$TOP/out}
# shellcheck source=../base/dpdk.conf
. "$TOP/base/dpdk.conf"

DL_DIR=$OUT/dl
BASE_SRC=$OUT/base/src
BASE_BUILD=$OUT/base/build
SERIES_SRC=$OUT/series/src
SERIES_BUILD=$OUT/series/build
TREE_SRC=$OUT/tree/src
SERIES_DIR=$TOP/series

# The identity the pristine base commit is made with (not a series author).
BASE_COMMITTER_NAME="DPDK base"
BASE_COMMITTER_EMAIL="base@invalid"
BASE_TAG=base-v$DPDK_VERSION

# Print one line naming what failed and exit non-zero.
die() {
	echo "error: $*" >&2
	exit 1
}

note() {
	echo "== $*"
}

# Debian's python3 (with python3-pyelftools) before any user-installed one.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

# ccache shared by every build tree: paths below $OUT are made relative and
# the build directory is not hashed, so out/base/build and out/series/build
# (both ../src relative to their build) share every unchanged object.
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$OUT
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
