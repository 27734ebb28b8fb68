#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Host demo: run dpdk-testpmd from a build tree as the unprivileged test
user, with two net_null ports forwarding to each other, show the port
statistics for a few seconds and check that packets moved on both ports.

Usage: demo-host.py BUILD_DIR [--seconds N]
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import hostenv  # noqa: E402


def testpmd_argv(build, huge_dir):
    """EAL and testpmd arguments: no PCI device, two null ports, io mode."""
    return [os.path.join(build, "app", "dpdk-testpmd"),
            "-l", "0-1", "-n", "1", "--huge-dir", huge_dir, "-m", "128",
            "--file-prefix", "demo", "--no-pci",
            "--vdev", "net_null0", "--vdev", "net_null1",
            "--log-level", "lib.eal:info",
            "--", "--forward-mode=io", "--tx-first", "--stats-period", "1",
            "--total-num-mbufs=8192"]


def run_testpmd(argv, seconds, runtime_dir):
    """Run testpmd as the test user for `seconds`, then stop it with
    SIGINT as a user would; return what it printed."""
    cmd = hostenv.user_argv(argv, user=hostenv.TEST_USER,
                            runtime_dir=runtime_dir)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    time.sleep(seconds)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise hostenv.HostEnvError("testpmd did not stop on SIGINT within "
                                   "20 s: see the output above") from None
    return proc.returncode, out


def final_rx_per_port(out):
    """RX-packets of each port in the last statistics block printed."""
    rx = {}
    for port, count in re.findall(
            r"NIC statistics for port (\d+) .*?\n\s*RX-packets:\s*(\d+)",
            out, re.S):
        rx[int(port)] = int(count)
    return rx


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", help="DPDK build directory")
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    testpmd = os.path.join(args.build, "app", "dpdk-testpmd")
    if not os.access(testpmd, os.X_OK):
        sys.exit(f"error: {testpmd} is missing: build first (make base)")
    user = hostenv.ensure_user()
    print(f"== dpdk-testpmd as {user.pw_name} (uid {user.pw_uid}), "
          f"2 x net_null, io forwarding, {args.seconds} s")
    with hostenv.hugepages(128), \
            hostenv.hugetlbfs(owner=hostenv.TEST_USER) as huge, \
            hostenv.runtime_dir(hostenv.TEST_USER) as rt:
        rc, out = run_testpmd(testpmd_argv(args.build, huge),
                              args.seconds, rt)
    print(out)
    rx = final_rx_per_port(out)
    if rc != 0 or len(rx) != 2 or min(rx.values()) == 0:
        sys.exit(f"error: testpmd exit {rc}, RX per port {rx}: "
                 "packets did not move on both ports")
    print(f"== demo OK: uid {user.pw_uid}, RX per port {rx}")


if __name__ == "__main__":
    try:
        main()
    except hostenv.HostEnvError as e:
        sys.exit(f"error: {e}")
