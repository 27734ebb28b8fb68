# SPDX-License-Identifier: BSD-3-Clause
"""Shared parts of the host test runners (run-host-tests.py,
run-fast-tests.py): the per-run DPDK environment (hugetlbfs mount and
runtime directory, for root or the test user), the base-vs-series verdict
of one test, and the closing `N passed, N failed[, N skipped]` line.

A verdict compares a test's result on the base build with its result on
the series build, for one run (root, user, ...):
  PASS  the series result is OK;
  FAIL  the series result is not OK while the base's is OK (a regression),
        or the test is new with the series and not OK;
  SKIP  not OK on the base either: a fact about this machine, printed with
        its reason (the reasons file, else what the test printed).
"""

import argparse
import collections
import contextlib
import os
import sys
import time

import hostenv

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("OUT", os.path.join(TOP, "out"))
# No fast test needs a PCI device; keep the host's own NICs (here a
# virtio-net bound to the kernel) away from dpdk-test. Child processes of
# the eal_flags tests inherit the allow list (app/test/process.h).
NO_PCI_ARGS = ["-a", "0000:00:00.0"]
# The one test whose children combine -b with the inherited allow list
# ("allow and block can't be used at the same time").
NO_ALLOW_TESTS = {"eal_flags_b_opt_autotest"}

# One run of a runner. name: label; user: as the test user?; eal: extra EAL
# arguments for every test; base: for a series-only run, the run whose base
# results it is compared with; cannot: {test: reason} for tests that cannot
# apply to this run; tests: the only tests the run is for (None: all).
Run = collections.namedtuple("Run", "name user eal base cannot tests",
                             defaults=(None, {}, None))

def run_is_for(run, test):
    """Whether TEST is one of the tests RUN is for (run.tests, None: all)."""
    return run.tests is None or test in run.tests


# Series autotests that check one IOVA mode and skip themselves in the
# others: they apply only to the runs in that mode.
DENSE_ONLY = {"iova_dense_autotest": "checks dense IOVAs, run by the "
              "user-dense run (it skips itself in other modes)"}


def read_base_conf(name):
    """bases/NAME/base.conf -> {KEY: value} (KEY=VALUE lines, shell
    quotes stripped); exit with one line for an unknown base."""
    path = os.path.join(TOP, "bases", name, "base.conf")
    if not os.path.exists(path):
        sys.exit("error: unknown base '%s': no %s (known: %s)" %
                 (name, os.path.relpath(path, TOP),
                  " ".join(sorted(os.listdir(os.path.join(TOP, "bases"))))))
    conf = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                conf[key] = value.strip('"')
    return conf


def base_out(name):
    """out/NAME: everything built or logged for one base."""
    return os.path.join(OUT, name)


def read_list(path):
    """Names in a list file: one per line, '#' comments, blanks ignored."""
    names = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    return names


def read_reasons(path):
    """'TEST: reason' lines (comments '#') -> {test: reason}."""
    reasons = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or ":" not in line:
                continue
            test, reason = line.split(":", 1)
            reasons[test.strip()] = reason.strip()
    return reasons


def builds(base, series):
    """Validate the two build dirs -> [(label, dir)]; one entry when both
    name the same tree (the series is empty: run it once)."""
    for d in (base, series):
        exe = os.path.join(d, "app", "test", "dpdk-test")
        if not os.access(exe, os.X_OK):
            sys.exit("error: %s missing: build the tree first (make check "
                     "builds out/NAME/base/build and out/NAME/series/build)" % exe)
    if os.path.realpath(base) == os.path.realpath(series):
        return [("base", base)]
    return [("base", base), ("series", series)]


def setup(hugepages):
    """Root check, private mounts, the test user; returns the hugepage
    context manager to hold for the whole run."""
    if os.geteuid() != 0:
        sys.exit("error: the host tests need root (hugepages, mounts, "
                 "the test user): run as root")
    try:
        hostenv.private_mounts()
        hostenv.ensure_user()
    except hostenv.HostEnvError as e:
        sys.exit("error: %s" % e)
    return hostenv.hugepages(hugepages)


def check_reachable(trees):
    """Exit with the fix if the test user cannot run a build's dpdk-test
    (a checkout under /root, mode 0700, is the usual cause)."""
    for _, d in trees:
        exe = os.path.join(os.path.abspath(d), "app", "test", "dpdk-test")
        r = hostenv.run(["test", "-x", exe], 10, user=hostenv.TEST_USER)
        if r.returncode != 0:
            sys.exit("error: user %s cannot run %s: make every directory "
                     "above it searchable by others (chmod o+x DIR) or "
                     "put the checkout elsewhere" % (hostenv.TEST_USER, exe))


@contextlib.contextmanager
def dpdk_env(user):
    """Yield (huge_dir, runtime_dir) for one run as `user` (None: root):
    a fresh hugetlbfs owned by that user, the only one visible (see
    setup), and a fresh runtime directory."""
    with hostenv.hugetlbfs(owner=user) as huge, \
         hostenv.runtime_dir(user) as rt:
        yield huge, rt


def last_words(text):
    """The line a test's output best explains itself with."""
    lines = [ln.strip() for ln in (text or "").splitlines()
             if ln.strip() and not ln.strip().startswith("RTE>>")]
    for ln in reversed(lines):
        low = ln.lower()
        if "skip" in low or "error" in low or "fail" in low:
            return ln[:160]
    return lines[-1][:160] if lines else "no output"


class Tally:
    """Counts verdicts and prints one line per compared test."""

    def __init__(self, reasons=None):
        self.passed = self.failed = self.skipped = 0
        self.reasons = reasons or {}

    def judge(self, run, test, base, series, same_tree):
        """base/series: (result, output) or None when the build lacks the
        test. With same_tree, series is base (the series is empty)."""
        if base is None and series is None:
            print("FAIL %-10s %-34s in neither build: a typo in the list?"
                  % (run, test), flush=True)
            self.failed += 1
            return
        b = base[0] if base else "MISSING"
        s = series[0] if series else "MISSING"
        where = ("%s (base = series)" % s if same_tree
                 else "base %s, series %s" % (b, s))
        if s == "OK":
            verdict, why = "PASS", ""
            self.passed += 1
        elif b == "OK" or base is None:
            verdict = "FAIL"
            why = ": regression" if base else ": new test not OK"
            why += " (%s)" % last_words(series[1] if series else "")
            self.failed += 1
        else:
            verdict = "SKIP"
            why = ": " + self.reasons.get(
                "%s/%s" % (run, test),
                self.reasons.get(test, last_words(base[1])))
            self.skipped += 1
        print("%-4s %-10s %-34s %s%s" % (verdict, run, test, where, why),
              flush=True)

    def cannot(self, run, test, reason):
        """A test that cannot apply to this run: SKIP with the reason."""
        print("SKIP %-10s %-34s cannot apply: %s" % (run, test, reason),
              flush=True)
        self.skipped += 1

    def close(self):
        """Print the closing line; return the exit status."""
        line = "%d passed, %d failed" % (self.passed, self.failed)
        if self.skipped:
            line += ", %d skipped" % self.skipped
        print(line)
        return 1 if self.failed else 0


def command_line(doc, runs, hugepages, runs_key, add_args=None):
    """Parse BASE SERIES [--dpdk-base NAME] [--runs ...] [--hugepages N]
    -> (args, runs, trees) where trees is builds(base, series). The runs
    default to the base's RUNS_KEY entry of its base.conf."""
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("base", help="base build dir (out/BASE/base/build)")
    p.add_argument("series", help="series build dir (out/BASE/series/build)")
    p.add_argument("--dpdk-base", default=os.environ.get("DPDK_BASE", "main"),
                   help="the base (bases/NAME) whose series the builds "
                   "carry (default: $DPDK_BASE or main)")
    p.add_argument("--runs", help="runs to do (default: %s of the base's "
                   "base.conf; known: %s)" %
                   (runs_key, ",".join(r.name for r in runs)))
    p.add_argument("--hugepages", type=int, default=hugepages,
                   help="2 MiB hugepages to hold (default: %(default)s)")
    if add_args:
        add_args(p)
    args = p.parse_args()
    args.conf = read_base_conf(args.dpdk_base)
    args.out = base_out(args.dpdk_base)
    wanted = (args.runs or args.conf.get(runs_key, "root")).split(",")
    chosen = [r for r in runs if r.name in wanted]
    if len(chosen) != len(wanted):
        sys.exit("error: unknown run in '%s' (known: %s)" %
                 (args.runs, ",".join(r.name for r in runs)))
    return args, chosen, builds(args.base, args.series)


def run_builds(args, runs, trees, run_build):
    """Hold the hugepages and call run_build(label, build_dir, run) for
    every run and build -> {(label, run name): {test: (result, output)}}.
    A series-only run (run.base set) skips the base build."""
    done = {}
    try:
        with setup(args.hugepages):
            if any(r.user for r in runs):
                check_reachable(trees)
            for run in runs:
                for label, d in trees:
                    if run.base and label == "base" and len(trees) > 1:
                        continue  # compared with run.base's base results
                    t0 = time.monotonic()
                    done[label, run.name] = run_build(label, d, run)
                    print("== %s %s: %d tests in %.0f s" %
                          (label, run.name, len(done[label, run.name]),
                           time.monotonic() - t0), flush=True)
    except hostenv.HostEnvError as e:
        sys.exit("error: %s" % e)
    return done


def judge_runs(tally, runs, trees, done, names=None):
    """One verdict per test and run; names: the tests in order (default:
    every test either build ran). run.cannot: {test: reason} to SKIP."""
    same = len(trees) == 1
    for run in runs:
        base = done[("base", run.base or run.name)]
        series = done[(trees[-1][0], run.name)]
        cannot = getattr(run, "cannot", {})
        for test in names or sorted(set(base) | set(series)):
            if not run_is_for(run, test):
                continue
            if test in cannot:
                tally.cannot(run.name, test, cannot[test])
            else:
                tally.judge(run.name, test, base.get(test),
                            series.get(test), same and not run.base)
