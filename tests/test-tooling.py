#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the project's own tooling: each bad input stops with one line
naming the cause, and leaves nothing half-made that a later run would
trust. Runs the tools from a scratch copy of tools/, bases/ and tests/
with its own out/ folder, so the real checkout is never touched. The
series tests use the 22.11 base (a real series to apply and export).

Usage: test-tooling.py
"""

import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests"))
import hostenv  # noqa: E402

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}: {name}" + (f" ({detail})" if detail and not ok else ""))


SERIES_BASE = "22.11"
SHARED = os.environ.get("SHARED", os.path.join(TOP, "..", "shared"))


def sh(scratch, *argv, base=SERIES_BASE):
    """Run a tool of the scratch copy on BASE; return (exit code, output)."""
    env = dict(os.environ, DPDK_BASE=base, SHARED=SHARED)
    r = subprocess.run(argv, cwd=scratch, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=600,
                       env=env)
    return r.returncode, r.stdout


def one_error_line(out, words):
    """The failure is reported on one 'error:' line containing `words`."""
    errors = [l for l in out.splitlines() if l.startswith("error:")]
    return len(errors) == 1 and all(w in errors[0] for w in words)


def make_scratch(root):
    """A copy of the repository's tools with the real download cache."""
    scratch = os.path.join(root, "repo")
    for d in ("tools", "bases", "tests"):
        shutil.copytree(os.path.join(TOP, d), os.path.join(scratch, d))
    dl = os.path.join(TOP, "out", "dl")
    if os.path.isdir(dl):
        shutil.copytree(dl, os.path.join(scratch, "out", "dl"))
    return scratch


def conf_path(scratch, base=SERIES_BASE):
    return os.path.join(scratch, "bases", base, "base.conf")


def conf_value(scratch, key, base=SERIES_BASE):
    with open(conf_path(scratch, base)) as f:
        for line in f:
            if line.startswith(key + "="):
                return line.split("=", 1)[1].strip().strip('"')
    raise KeyError(key)


def set_conf(scratch, key, value, base=SERIES_BASE):
    path = conf_path(scratch, base)
    with open(path) as f:
        lines = [f"{key}={value}\n" if l.startswith(key + "=") else l
                 for l in f]
    with open(path, "w") as f:
        f.writelines(lines)


def test_fetch(scratch):
    tarball = os.path.join(scratch, "out", "dl", conf_value(scratch, "TARBALL"))
    rc, out = sh(scratch, "tools/fetch-base.sh")
    check("fetch-base.sh fetches and extracts the pinned base", rc == 0, out)
    with open(tarball, "r+b") as f:
        f.seek(1000)
        f.write(b"corrupt")
    rc, out = sh(scratch, "tools/fetch-base.sh")
    check("a corrupt cached tarball is detected and fetched again",
          rc == 0 and "corrupt" in out, out)
    good = conf_value(scratch, "TARBALL_SHA256")
    set_conf(scratch, "TARBALL_SHA256", "0" * 64)
    os.unlink(tarball)
    rc, out = sh(scratch, "tools/fetch-base.sh")
    check("a tarball not matching the pinned sha256 stops with one line",
          rc != 0 and one_error_line(out, ["sha256 mismatch"]), out)
    check("... and leaves no tarball behind", not os.path.exists(tarball))
    set_conf(scratch, "TARBALL_SHA256", good)


def test_bases(scratch):
    """The primary base comes from the shared folder; a bad base name or a
    missing shared tarball stops with one line."""
    tarball = os.path.join(scratch, "out", "dl",
                           conf_value(scratch, "TARBALL", "main"))
    if os.path.exists(tarball):
        os.unlink(tarball)
    rc, out = sh(scratch, "tools/fetch-base.sh", base="main")
    check("fetch-base.sh copies main's tarball from the shared folder",
          rc == 0 and "copying" in out, out)
    rc, out = sh(scratch, "tools/fetch-base.sh", base="no-such")
    check("an unknown base stops with one line naming it and the known ones",
          rc != 0 and one_error_line(out, ["no-such", "main", "22.11"]), out)
    if os.path.exists(tarball):
        os.unlink(tarball)
    good = conf_value(scratch, "SHARED_TARBALL", "main")
    set_conf(scratch, "SHARED_TARBALL", "upstream/missing.tar.xz", "main")
    rc, out = sh(scratch, "tools/fetch-base.sh", base="main")
    check("a missing shared tarball stops with one line naming it",
          rc != 0 and one_error_line(out, ["missing.tar.xz", "shared"]), out)
    set_conf(scratch, "SHARED_TARBALL", good, "main")


def test_fixes_tags(scratch):
    """A Fixes: tag is accepted only when the base's record of upstream
    commits has its id and subject."""
    dest = os.path.join(scratch, "out", "fx", "src")
    rc, out = sh(scratch, "tools/make-tree.sh", dest, "--upto", "0",
                 base="main")
    git = ["git", "-C", dest]
    subprocess.run(git + ["commit", "-q", "--allow-empty", "-m",
                          "eal: fix x\n\nFixes: cf408c22476c (\"eal: auto "
                          "detect IOVA mode\")"], check=True)
    rc, out = sh(scratch, "tools/check-fixes-tags.sh", dest, base="main")
    check("a Fixes: tag of a recorded upstream commit passes", rc == 0, out)
    subprocess.run(git + ["commit", "-q", "--allow-empty", "-m",
                          "eal: fix y\n\nFixes: cf408c22476c (\"eal: some "
                          "other subject\")"], check=True)
    rc, out = sh(scratch, "tools/check-fixes-tags.sh", dest, base="main")
    check("a Fixes: tag with a wrong subject fails with one line naming it",
          rc != 0 and len(out.splitlines()) == 1 and
          "some other subject" in out, out)


def test_rebase(scratch):
    """The rebase helper reports every patch and the totals."""
    rc, out = sh(scratch, "tools/rebase-series.sh", "--from", "22.11",
                 "--onto", "main")
    n = len([l for l in open(os.path.join(
        scratch, "bases", "22.11", "series", "series"))
        if l.strip() and not l.startswith("#")])
    lines = [l for l in out.splitlines()
             if l.split(" ", 1)[0] in ("applied", "failed")]
    check("rebase-series.sh prints one verdict per patch and the totals",
          rc == 0 and len(lines) == n and
          out.rstrip().splitlines()[-1].startswith("rebase 22.11->main: "),
          out[-600:])


def test_series(scratch):
    series = os.path.join(scratch, "bases", SERIES_BASE, "series")
    dest = os.path.join(scratch, "out", "t", "src")
    with open(os.path.join(series, "9999-broken.patch"), "w") as f:
        f.write("From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
                "From: A <a@b.c>\nSubject: [PATCH] eal: broken\n\n---\n"
                "--- a/VERSION\n+++ b/VERSION\n@@ -1 +1 @@\n-1.2.3\n+4.5.6\n")
    with open(os.path.join(series, "series"), "a") as f:
        f.write("9999-broken.patch\n")
    rc, out = sh(scratch, "tools/make-tree.sh", dest)
    check("a patch that does not apply stops with one line naming it",
          rc != 0 and one_error_line(out, ["9999-broken.patch", "does not apply"]), out)
    check("... and leaves no work tree behind",
          not os.path.exists(dest) and not os.path.exists(dest + ".tmp"))
    os.unlink(os.path.join(series, "9999-broken.patch"))
    rc, out = sh(scratch, "tools/make-tree.sh", dest)
    check("a series entry without its file stops with one line naming it",
          rc != 0 and one_error_line(out, ["9999-broken.patch", "not in bases/22.11/series/"]), out)
    shutil.copy(os.path.join(TOP, "bases", SERIES_BASE, "series", "series"),
                series)


def test_export(scratch):
    dest = os.path.join(scratch, "out", "t", "src")
    rc, out = sh(scratch, "tools/make-tree.sh", dest)
    check("make-tree.sh applies the series", rc == 0, out)
    rc, out = sh(scratch, "tools/make-tree.sh", dest)
    check("make-tree.sh refuses to overwrite a work tree",
          rc != 0 and one_error_line(out, ["exists"]), out)
    series = os.path.join(scratch, "bases", SERIES_BASE, "series")
    before = {n: open(os.path.join(series, n), "rb").read()
              for n in os.listdir(series)}
    rc, out = sh(scratch, "tools/export-series.sh", dest)
    after = {n: open(os.path.join(series, n), "rb").read()
             for n in os.listdir(series)}
    check("export of an unchanged tree reproduces series/ byte for byte",
          rc == 0 and before == after,
          out + f" changed: {sorted(set(before.items()) ^ set(after.items()))[:3]}")
    with open(os.path.join(dest, "VERSION"), "a") as f:
        f.write("x\n")
    rc, out = sh(scratch, "tools/export-series.sh", dest)
    check("export refuses uncommitted changes",
          rc != 0 and one_error_line(out, ["uncommitted"]), out)


def test_build(scratch):
    src = os.path.join(scratch, "out", "bad", "src")
    build = os.path.join(scratch, "out", "bad", "build")
    os.makedirs(src)
    rc, out = sh(scratch, "tools/build.sh", src, build)
    check("build.sh refuses a directory that is no DPDK tree",
          rc != 0 and one_error_line(out, ["not a DPDK source tree"]), out)
    with open(os.path.join(src, "meson.build"), "w") as f:
        f.write("project('broken', 'c')\nerror('injected failure')\n")
    rc, out = sh(scratch, "tools/build.sh", src, build)
    check("a failing configure step stops with one line naming the log",
          rc != 0 and one_error_line(out, ["meson setup", "failed"]), out)
    check("... and leaves no configured build directory to trust",
          not os.path.exists(os.path.join(build, ".project-options")))


FAKE_OPTIONS = """option('platform', type: 'string', value: 'native')
option('tests', type: 'boolean', value: true)
option('enable_apps', type: 'string', value: '')
option('enable_drivers', type: 'string', value: '')
option('enable_docs', type: 'boolean', value: false)
"""
# Prints what app/test/meson.build decides on: hugepages in the pool.
FAKE_MESON = """project('fake', 'c')
pool = run_command('cat', '/proc/sys/vm/nr_hugepages', check: true)
message('hugepage availability: @0@'.format(pool.stdout().strip() != '0'))
executable('fake', 'fake.c')
"""


def test_build_regenerates_with_hugepages(scratch):
    """A patch that changes a meson.build makes ninja re-run meson; that
    run must see hugepages too, or the suites lose their hugepage tests."""
    src = os.path.join(scratch, "out", "fake", "src")
    build = os.path.join(scratch, "out", "fake", "build")
    os.makedirs(src)
    for name, text in (("meson_options.txt", FAKE_OPTIONS),
                       ("meson.build", FAKE_MESON),
                       ("fake.c", "int main(void) { return 0; }\n")):
        with open(os.path.join(src, name), "w") as f:
            f.write(text)
    pool = "/proc/sys/vm/nr_hugepages"
    with open(pool) as f:
        before = f.read().strip()
    try:
        with open(pool, "w") as f:
            f.write("0")
        rc, out = sh(scratch, "tools/build.sh", src, build)
        check("a tree configured with an empty pool sees hugepages",
              rc == 0, out)
        with open(os.path.join(src, "meson.build"), "a") as f:
            f.write("# changed by a patch\n")
        rc, out = sh(scratch, "tools/build.sh", src, build)
        with open(os.path.join(build, "build.log")) as f:
            log = f.read()
        check("meson re-run inside ninja sees hugepages too",
              rc == 0 and "hugepage availability: true" in log, out + log)
    finally:
        with open(pool, "w") as f:
            f.write(before)


def test_hugepages():
    try:
        with hostenv.hugepages(1 << 30, lock_timeout=60):
            ok, msg = False, "got 2 PiB of hugepages"
    except hostenv.HostEnvError as e:
        ok, msg = str(e).startswith("no hugepages available"), str(e)
    check("too few hugepages stops with 'no hugepages available'", ok, msg)


def testbed_case(rx_after, secondary_rc=0, test_line="Test OK"):
    """A parsed test bed case: testpmd's periodic stats of ports 0 and 1,
    one sample before the secondary ended, then one per RX_AFTER value."""
    def stats(rx):
        return [line for p in (0, 1) for line in (
            f"  #### NIC statistics for port {p}  ####",
            f"  RX-packets: {rx}  RX-missed: 0  RX-bytes: 0")]
    out = stats(0) + [test_line]
    after = len(out)
    for rx in rx_after:
        out += stats(rx)
    return {"output": out, "secondary_rc": secondary_rc,
            "after_secondary": after}


def test_testbed_data():
    """Scenario data errors name the field; the secondary and output checks
    fail what they must fail."""
    sys.path.insert(0, os.path.join(TOP, "testbed"))
    import tblib
    bad = [({"allow": [2]}, "allow"),
           ({"program": "dpdk-test", "autotest": "x",
             "commands": ["quit"]}, "commands"),
           ({"lines": ["("]}, "lines"),
           ({"dma_entry_limit": -1}, "dma_entry_limit"),
           ({"secondaries": "x"}, "unknown field"),
           ({"user_check": "yes", "base": False}, "user_check"),
           ({"user_check": "pass"}, "user_check needs base = false"),
           ({"lines": "error 28"}, 'field "lines" must be a list of strings'),
           ({"eal": "--iova-mode=va"}, 'field "eal" must be a list'),
           ({"allow": 0}, 'field "allow" must be a list of numbers'),
           ({"seconds": "5"}, 'field "seconds" must be a whole number'),
           ({"base": 1}, 'field "base" must be true or false'),
           ({"forward_wait": 56}, "forward_wait + seconds"),
           ({"unopened": [3]}, "unopened lists devices"),
           ({"unopened": [2], "trace_vfio": True}, "one or the other"),
           ({"spare": "igb_uio"}, "spare must be")]
    for fields, word in bad:
        sc = dict(tblib.FIELDS, name="x", **fields)
        try:
            tblib.check_scenario(sc, "t")
            ok, msg = False, "accepted"
        except tblib.DataError as e:
            ok, msg = word in str(e), str(e)
        check(f"scenario with bad {word} is refused naming it", ok, msg)
    with tempfile.TemporaryDirectory() as d:
        for text, word in (
                ('[[scenarios]]\nname = "x"\n', 'unknown table "scenarios"'),
                ('[defaults]\nuid = 0\n', "no [[scenario]]"),
                ('[scenario]\nname = "x"\n', "write each scenario as"),
                ('[[scenario]]\nname = "x"\nlines = "a"\n',
                 '#1 ("x"): field "lines"')):
            path = os.path.join(d, "bad.toml")
            with open(path, "w") as f:
                f.write(text)
            try:
                tblib.load_scenarios([path])
                ok, msg = False, "accepted"
            except tblib.DataError as e:
                ok, msg = word in str(e) and "bad.toml" in str(e), str(e)
            check(f"scenario file with {word} is refused naming it", ok, msg)
    r = subprocess.run([sys.executable, os.path.join(TOP, "testbed",
                        "run-scenarios.py"), "--only", "(", TOP],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    check("run-scenarios.py --only '(' stops with one line",
          r.returncode != 0 and one_error_line(r.stdout, ["--only", "regex"]),
          r.stdout)
    for fields, want in (({}, 10), ({"commands": ["port start all"]}, 40)):
        sc = dict(tblib.FIELDS, name="x", **fields)
        tblib.check_scenario(sc, "t")
        check(f"forwarding may take {want} s to start with {fields}",
              sc["forward_wait"] == want, str(sc["forward_wait"]))
    _, cases = tblib.parse_console(
        "@@TB BEGIN x\n@@TB OUTPUT\nline\n"
        "@@TB FORWARDING not seen in 40 s\n@@TB RC 0\n@@TB END\n")
    sc = dict(tblib.FIELDS, name="x")
    tblib.check_scenario(sc, "t")
    _, _, detail = tblib.evaluate(sc, cases["x"])
    check("a case whose forwarding never started says so",
          "forwarding not seen in 40 s" in detail, detail)
    _, cases = tblib.parse_console(
        "@@TB BEGIN x\n@@TB OUTPUT\n@@TB RC 0\n@@TB OPENAT 9\n"
        "@@TB VFIO-OPEN /dev/vfio/2\n@@TB GROUP 0000:00:10.0 2\n"
        "@@TB GROUP 0000:00:12.0 4\n@@TB END\n")
    for unopened, want in (([2], []), ([0], ["group 2 of 0000:00:10.0"]),
                           ([1], ["0000:00:11.0 has no IOMMU group"])):
        sc = dict(tblib.FIELDS, name="x", unopened=unopened)
        probs = tblib.unopened_problems(sc, cases["x"])
        check(f"unopened {unopened}: {want or 'no problem'}",
              [p[:len(w)] for p, w in zip(probs, want)] == want and
              len(probs) == len(want), str(probs))
    sc = dict(tblib.FIELDS, name="x", spare="vfio-pci", allow=[0])
    tblib.check_scenario(sc, "t")
    script = tblib.case_script(sc)
    check("a bound spare device: no -a, the spare bound",
          " -a " not in script and "0000:00:12.0=vfio-pci" in script,
          script)
    probs = tblib.secondary_problems(testbed_case([5, 9, 14]))
    check("secondary then growing RX passes", probs == [], str(probs))
    probs = tblib.secondary_problems(testbed_case([5, 5, 5]))
    check("RX stalled after the secondary fails", len(probs) == 2,
          str(probs))
    probs = tblib.secondary_problems(testbed_case([5]))
    check("one RX sample after the secondary fails", len(probs) == 2,
          str(probs))
    probs = tblib.secondary_problems(testbed_case([5, 9], 1, "Test Failed"))
    check("failed secondary fails", len(probs) == 1, str(probs))
    sc = dict(tblib.FIELDS, name="x", lines=["error 28"],
              forbid=["Cannot clear"])
    probs = tblib.output_problems(sc, "Cannot clear DMA remapping\n")
    check("missing and forbidden lines are reported", len(probs) == 2,
          str(probs))
    probs = tblib.output_problems(sc, "error 28 (No space left)\n")
    check("present line, no forbidden one: no problem", probs == [],
          str(probs))
    sc = dict(tblib.FIELDS, name="x", user_check="pass", base=False,
              eal=["-m", "64", "--iova-mode=va", "--no-telemetry"])
    args = tblib.user_check_args(sc, ["0000:00:10.0"])
    check("the user check gets the EAL options it knows and the NICs",
          args == ["-m", "64", "--iova-mode", "va", "0000:00:10.0"],
          str(args))
    probs = tblib.user_check_problems(sc, {"user_check_rc": 1})
    check("a failing user check where it should pass is reported",
          len(probs) == 1, str(probs))
    probs = tblib.user_check_problems(sc, {"user_check_rc": None})
    check("a user check that did not run is reported", len(probs) == 1,
          str(probs))


def main():
    with tempfile.TemporaryDirectory(prefix="tooling-") as root:
        scratch = make_scratch(root)
        test_fetch(scratch)
        test_bases(scratch)
        test_series(scratch)
        test_export(scratch)
        test_build(scratch)
        test_build_regenerates_with_hugepages(scratch)
        test_fixes_tags(scratch)
        test_rebase(scratch)
    test_hugepages()
    test_testbed_data()
    failed = results.count(False)
    print(f"tooling: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
