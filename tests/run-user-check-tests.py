#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Host tests of usertools/dpdk-user-check.py of a series tree: each check
fails, as the unprivileged test user, in a setup made to miss what it
checks, and prints its fix; the same setup with the fix applied passes.
Where the host can run EAL, its verdict is compared with what EAL init
does in the same setup. The host has no IOMMU and no vfio module, so the
IOMMU, VFIO and device checks fail here with their fixes (the test bed
runs the guest that passes them).

Usage: run-user-check-tests.py --dpdk-base NAME SERIES_SRC SERIES_BUILD
"""

import argparse
import os
import pwd
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gatelib  # noqa: E402
import hostenv  # noqa: E402

TOOL = "usertools/dpdk-user-check.py"
USER = hostenv.TEST_USER
# A PCI address no machine has, and a device the host's kernel drives.
NO_DEVICE = "0000:ff:1f.7"
PCI = "/sys/bus/pci/devices"


class Cases:
    def __init__(self, tool, build, conf):
        self.tool = tool
        self.build = build
        self.conf = conf
        self.passed = self.failed = self.skipped = 0

    def check(self, name, ok, out):
        if ok:
            self.passed += 1
            print("PASS %s" % name)
        else:
            self.failed += 1
            print("FAIL %s\n  %s" % (name, "\n  ".join(out.splitlines())))

    def run(self, args, memlock=None, user=USER):
        r = hostenv.run(["python3", self.tool] + args, 60, user=user,
                        memlock=memlock)
        return r.returncode, r.stdout

    def expect(self, name, args, lines, rc, **kw):
        """Each of LINES (a string: a line's start; a compiled regex: it
        matches a line's start) is printed and the exit status is RC."""
        code, out = self.run(args, **kw)
        printed = out.splitlines()
        pats = [w if isinstance(w, re.Pattern) else re.compile(re.escape(w))
                for w in lines]
        ok = code == rc and all(any(pat.match(p) for p in printed)
                                for pat in pats)
        self.check(name, ok, "exit %d\n%s" % (code, out))

    def skip(self, name, reason):
        self.skipped += 1
        print("SKIP %s: %s" % (name, reason))

    def eal_starts(self, huge, eal_args=()):
        """Whether dpdk-test gets through EAL init as the test user."""
        exe = os.path.join(self.build, "app", "test", "dpdk-test")
        with hostenv.runtime_dir(USER) as rt:
            argv = [exe, "-l", "0", "--no-pci", "-m", "8",
                    "--file-prefix", "usercheck"] + list(eal_args)
            if huge:
                argv += ["--huge-dir", huge]
            r = hostenv.run(argv, 120, user=USER, runtime_dir=rt,
                            env={"DPDK_TEST": "errno_autotest"})
        return r.returncode == 0, r.stdout


def kernel_driven_device():
    """A PCI device bound to a kernel driver other than vfio or uio."""
    for dev in sorted(os.listdir(PCI)) if os.path.isdir(PCI) else []:
        link = os.path.join(PCI, dev, "driver")
        if os.path.islink(link):
            drv = os.path.basename(os.readlink(link))
            if drv not in ("vfio-pci", "uio_pci_generic", "igb_uio"):
                return dev, drv
    return None, None


def device_cases(c):
    c.expect("a device that does not exist names itself",
             [NO_DEVICE], ["FAIL device %s: no such PCI device; fix:" %
                           NO_DEVICE], 1)
    dev, drv = kernel_driven_device()
    if dev is None:
        c.skip("a device on a kernel driver, memlock", "the host has none")
        return
    c.expect("a device on %s needs vfio-pci, IOMMU and vfio" % drv, [dev], [
        "FAIL iommu: no IOMMU is enabled; fix: ",
        "FAIL vfio: /dev/vfio/vfio does not exist; fix: modprobe vfio-pci",
        "FAIL device %s: bound to %s; fix: dpdk-devbind.py --bind=vfio-pci %s"
        % (dev, drv, dev)], 1)
    with hostenv.hugetlbfs(owner=USER) as huge:
        args = [dev, "-m", "8", "--huge-dir", huge]
        c.expect("memlock below the memory VFIO pins fails with limits.d",
                 args, ["FAIL memlock: RLIMIT_MEMLOCK 64K is below the 8M "
                        "VFIO pins; fix: '%s - memlock 8192' in "
                        "/etc/security/limits.d/" % USER], 1,
                 memlock=64 << 10)
        c.expect("memlock of 8M covers the 8M VFIO pins", args,
                 ["PASS memlock: RLIMIT_MEMLOCK 8M covers 8M"], 1,
                 memlock=8 << 20)
        c.expect("without -m the memlock limit is only shown",
                 [dev, "--huge-dir", huge],
                 ["INFO memlock: RLIMIT_MEMLOCK 64K caps the memory VFIO "
                  "can pin"], 1, memlock=64 << 10)


def hugepage_cases(c):
    c.expect("no hugetlbfs mount fails with the mount command", ["-m", "8"],
             ["FAIL hugetlbfs: no hugetlbfs mount for 2M pages; fix: mount "
              "-t hugetlbfs -o pagesize=2M,uid=%s" % USER], 1)
    ok, out = c.eal_starts(None)
    c.check("... and EAL init fails there too", not ok, out)
    c.expect("--in-memory needs no mount", ["-m", "8", "--in-memory"],
             ["PASS hugetlbfs: not needed with --in-memory",
              "all checks passed"], 0)
    with hostenv.hugetlbfs(owner=None, mode=0o755) as huge:
        c.expect("a mount of root fails with chown",
                 ["-m", "8", "--huge-dir", huge],
                 ["FAIL hugetlbfs: %s (2M pages) is not writable by %s; "
                  "fix: chown %s %s" % (huge, USER, USER, huge)], 1)
        ok, out = c.eal_starts(huge)
        c.check("... and EAL init fails there too", not ok, out)
    with hostenv.hugetlbfs(owner=USER) as huge:
        c.expect("the user's own mount passes", ["-m", "8", "--huge-dir",
                                                 huge],
                 ["PASS hugetlbfs: %s (2M) writable" % huge,
                  "INFO iova-mode: EAL will choose VA",
                  "all checks passed for %s" % USER], 0)
        ok, out = c.eal_starts(huge)
        c.check("... and EAL init passes there too", ok, out)
        sub = os.path.join(huge, "app")
        os.mkdir(sub)
        pw = pwd.getpwnam(USER)
        os.chown(sub, pw.pw_uid, pw.pw_gid)
        c.expect("a --huge-dir below the mount point is that mount",
                 ["-m", "8", "--huge-dir", sub],
                 ["PASS hugetlbfs: %s (2M) writable" % sub], 0)
        ok, out = c.eal_starts(sub)
        c.check("... and EAL init passes there too", ok, out)
        c.expect("more memory than the pool has fails with dpdk-hugepages.py",
                 ["-m", "1048576", "--huge-dir", huge],
                 [re.compile(r"FAIL hugepages: \d+[MG] free hugepage memory "
                             r"EAL can use, 1048576M asked; fix: dpdk-hugepages.py "
                             r"--pagesize 2M --reserve 1048576M "
                             r"\(as root\)$")], 1)
        c.expect("--iova-mode=pa as a user fails",
                 ["-m", "8", "--huge-dir", huge, "--iova-mode", "pa"],
                 ["FAIL iova-mode: --iova-mode=pa needs physical "
                  "addresses, readable only with CAP_SYS_ADMIN; fix: drop "
                  "--iova-mode=pa"], 1)
        c.expect("--iova-mode=pa as root passes",
                 ["-m", "8", "--huge-dir", huge, "--iova-mode", "pa"],
                 ["INFO iova-mode: EAL will use PA"], 0, user=None)
        iova_mode_cases(c, huge)


def iova_mode_cases(c, huge):
    """The --iova-mode values the base's tool knows (USER_CHECK_IOVA_MODES
    of base.conf) pass with no device needing physical addresses, as EAL
    init does; the others are refused as unknown, not misjudged."""
    known = c.conf["USER_CHECK_IOVA_MODES"].split(",")
    for mode in ("va", "dense"):
        args = ["-m", "8", "--huge-dir", huge, "--iova-mode", mode]
        if mode not in known:
            code, out = c.run(args)
            c.check("--iova-mode=%s, unknown to this base's tool, is "
                    "refused" % mode, code == 2 and "invalid choice" in out,
                    out)
            continue
        c.expect("--iova-mode=%s as a user passes" % mode, args,
                 ["INFO iova-mode: EAL will use %s" %
                  ("dense IOVAs" if mode == "dense" else "VA"),
                  "all checks passed"], 0)
        ok, out = c.eal_starts(huge, ["--iova-mode=" + mode])
        c.check("... and EAL init passes there too", ok, out)


def option_cases(c):
    for args, word in ((["-m", "0"], "-m/--memory: '0' is not a size in MB"),
                       (["1:2"], "DEVICE: '1:2' is not a PCI address")):
        code, out = c.run(args)
        c.check("a bad option (%s) stops with one line" % " ".join(args),
                code == 2 and out.strip().splitlines()[-1].endswith(word), out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dpdk-base", required=True)
    p.add_argument("src")
    p.add_argument("build")
    args = p.parse_args()
    tool = os.path.join(os.path.abspath(args.src), TOOL)
    if not os.path.isfile(tool):
        sys.exit("error: %s missing: the %s series has no user check"
                 % (tool, args.dpdk_base))
    gatelib.builds(args.build, args.build)
    with gatelib.setup(16):
        c = Cases(tool, os.path.abspath(args.build),
                  gatelib.read_base_conf(args.dpdk_base))
        option_cases(c)
        device_cases(c)
        hugepage_cases(c)
    print("user-check %s: %d passed, %d failed, %d skipped" %
          (args.dpdk_base, c.passed, c.failed, c.skipped))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
