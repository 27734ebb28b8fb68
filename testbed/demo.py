#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Boot the test bed's guest and run testpmd as uid 1000 through the
emulated IOMMU (testbed/demo.toml), showing live the EAL lines about the
IOVA mode and the port statistics, then the verdict.

Usage: demo.py BUILD_DIR
"""

import os
import re
import subprocess
import sys

import tblib

SHOW = re.compile(r'IOVA|IOMMU|iommu|VFIO|DMA|Probe PCI|Selected|'
                  r'mode|Port \d: |Link up|Signal|forward statistics|'
                  r'Forward statistics|^@@TB (RUN|RC)|'
                  r'^(PASS|FAIL|INFO) |^all checks|check\(s\) failed')
STATS = re.compile(r'RX-packets: +(\d+).*|TX-packets: +(\d+).*')


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit('usage: demo.py BUILD_DIR (an existing DPDK build, '
                 'e.g. out/base/build)')
    build = os.path.abspath(sys.argv[1])
    assets = tblib.read_assets()
    sc = tblib.load_scenarios([os.path.join(tblib.HERE, 'demo.toml')])[0]
    why = tblib.missing_asset(sc, assets)
    if why:
        sys.exit(f'error: {why}')
    work = os.path.join(tblib.TB, 'runs', 'demo')
    os.makedirs(work, exist_ok=True)
    initramfs = os.path.join(work, 'initramfs.cpio')
    subprocess.run([sys.executable,
                    os.path.join(tblib.HERE, 'make-initramfs.py'), build,
                    sc['kernel'], initramfs], check=True)
    accel, reason = tblib.detect_accel(assets, work)
    print(f'== accel: {accel} ({reason})')
    initrd = os.path.join(work, 'boot.cpio')
    tblib.boot_initrd(initramfs, tblib.boot_script([sc]), initrd)
    log = os.path.join(work, 'console.log')
    argv, env = tblib.qemu_command(sc, assets, accel, initrd, log)
    print(f'== booting: QEMU {sc["qemu"]}, kernel {sc["kernel"]}, '
          f'{sc["iommu"]} aw-bits {sc["aw_bits"]}, 2 x {sc["nic"]} on '
          'vfio-pci, testpmd as uid 1000 for '
          f'{sc["seconds"]} s (console: {os.path.relpath(log, tblib.TOP)})',
          flush=True)
    port = [None]

    def show(line):
        line = re.sub(r'\x1b\[[0-9;]*[A-Za-z]', '', line)
        m = re.search(r'(NIC|Forward) statistics for port (\d+)', line)
        if m:
            port[0] = f'{m.group(1).lower()} stats port {m.group(2)}'
            return
        if port[0] and STATS.search(line):
            print(f'  {port[0]}: {" ".join(line.split())}', flush=True)
            if 'TX' in line:
                port[0] = None
            return
        if SHOW.search(line) and not line.startswith('@@TB PCI'):
            print('  ' + line.replace('@@TB ', 'guest: '), flush=True)

    timeout = 120 + sc['limit']
    rc, secs, qemu_out = tblib.run_guest(argv, env, log, timeout, show)
    with open(log, errors='replace') as f:
        _, cases = tblib.parse_console(f.read())
    verdict, summary, detail = tblib.evaluate(sc, cases.get(sc['name']))
    print(f'== {verdict}: {summary} ({detail}); guest {secs:.0f} s')
    if rc is None:
        print('error: the guest hung and was killed: ' + qemu_out[:300])
    sys.exit(0 if verdict == 'PASS' and rc is not None else 1)


if __name__ == '__main__':
    main()
