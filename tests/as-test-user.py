#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run a command as the unprivileged test user: the `meson test --wrapper`
of run-fast-tests.py, usable by hand the same way.

    meson test -C BUILD --no-rebuild \\
        --wrapper 'tests/as-test-user.py --runtime-dir DIR' \\
        --test-args '--huge-dir MOUNT' memory_autotest

The command runs with the user's uid/gid, no capabilities, XDG_RUNTIME_DIR
set to DIR (which the user must own), RLIMIT_MEMLOCK set if asked, and only
the environment a test needs from the caller's (DPDK_*, RTE_*, MESON_*,
MALLOC_*); PATH is the system's.
"""

import argparse
import os
import sys

sys.dont_write_bytecode = True  # keep tests/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostenv  # noqa: E402

KEEP_PREFIXES = ("DPDK_", "RTE_", "MESON_", "MALLOC_")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--user", default=hostenv.TEST_USER,
                   help="user to run as (default: %(default)s)")
    p.add_argument("--runtime-dir", required=True,
                   help="XDG_RUNTIME_DIR for the command")
    p.add_argument("--memlock", help="RLIMIT_MEMLOCK in bytes or "
                   "'unlimited' (default: unchanged)")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        p.error("no command given")
    env = {k: v for k, v in os.environ.items()
           if k.startswith(KEEP_PREFIXES)}
    try:
        argv = hostenv.user_argv(cmd, user=args.user, memlock=args.memlock,
                                 runtime_dir=args.runtime_dir, env=env)
    except hostenv.HostEnvError as e:
        sys.exit("error: %s" % e)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main()
