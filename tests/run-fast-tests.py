#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run DPDK's `fast-tests` meson suite on the base and the series build,
once per run of RUNS (root, the unprivileged test user, ...), and fail on
any test that is OK on the base and not OK with the series.

Usage: run-fast-tests.py BASE_BUILD SERIES_BUILD [--dpdk-base NAME]
                         [--runs root,user] ...
(pass the same directory twice while the series is empty: it runs once).

Each run gets its own hugetlbfs (owned by the run's user; the only one
visible, in a private mount namespace) and runtime directory. Extra EAL
arguments reach every test through `meson test --test-args` (appended to
the test's command line); the user runs go through `meson test --wrapper
tests/as-test-user.py`. meson's logs of each run land in
out/BASE/tests/fast-tests/BUILD-RUN/ (testlog.json, testlog.txt).
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep tests/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gatelib  # noqa: E402
import hostenv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
Run = gatelib.Run

# One line per run (fields: gatelib.Run).
RUNS = [
    Run("root", False, [], cannot=gatelib.DENSE_ONLY),
    Run("user", True, [], cannot=gatelib.DENSE_ONLY),
    Run("user-dense", True, ["--iova-mode=dense"], base="user"),
]
SUITE = "fast-tests"
# app/test/meson.build registers these only when hugepages exist at setup.
HUGE_ONLY_TEST = "memory_autotest"
SYS_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def meson(build, *args, env=None):
    return subprocess.run(["meson", "test", "-C", build, "--no-rebuild"] +
                          list(args), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def suite_tests(build):
    """The suite's test names. A build configured without hugepages lacks
    every hugepage test: refuse it rather than gate on a short suite."""
    r = meson(build, "--list", "--suite", SUITE,
              env=dict(os.environ, PATH=SYS_PATH))
    if r.returncode != 0:
        sys.exit("error: meson test --list failed in %s: %s" %
                 (build, gatelib.last_words(r.stdout)))
    names = [ln.split(" / ", 1)[1].strip()
             for ln in r.stdout.splitlines() if " / " in ln]
    if HUGE_ONLY_TEST not in names:
        sys.exit("error: %s was configured without hugepages, so %s lacks "
                 "the hugepage tests: rebuild it with tools/build.sh" %
                 (build, SUITE))
    return names


def run_suite(build, label, run, tests, multiplier, out):
    """Run the suite of one build for one run -> {test: (result, output)}."""
    logdir = os.path.join(out, "tests", SUITE,
                          "%s-%s" % (label, run.name))
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir + ".tmp", exist_ok=True)
    user = hostenv.TEST_USER if run.user else None
    results = {}
    with gatelib.dpdk_env(user) as (huge, rt):
        env = {"PATH": SYS_PATH, "LANG": "C"}
        wrapper = []
        if run.user:
            wrapper = ["--wrapper", "%s --runtime-dir %s" %
                       (os.path.join(HERE, "as-test-user.py"), rt)]
        else:
            env["RUNTIME_DIRECTORY"] = rt
        eal = run.eal + ["--huge-dir", huge]
        groups = [([t for t in tests if t not in gatelib.NO_ALLOW_TESTS],
                   gatelib.NO_PCI_ARGS + eal),
                  ([t for t in tests if t in gatelib.NO_ALLOW_TESTS], eal)]
        for i, (names, args) in enumerate(groups):
            if not names:
                continue
            base = "%s-%s-%d" % (SUITE, run.name, i)
            meson(build, "--suite", SUITE, "--logbase", base,
                  "-t", str(multiplier), "--test-args", " ".join(args),
                  *wrapper, *names, env=env)
            # meson names them BASE[-WRAPPER].{json,txt,junit.xml}
            for src in glob.glob(os.path.join(build, "meson-logs",
                                              base + "[.-]*")):
                ext = next(e for e in ("junit.xml", "json", "txt")
                           if src.endswith("." + e))
                shutil.move(src, os.path.join(
                    logdir + ".tmp", "testlog-%d.%s" % (i, ext)))
            results.update(read_testlog(os.path.join(
                logdir + ".tmp", "testlog-%d.json" % i)))
    os.rename(logdir + ".tmp", logdir)
    return results


def read_testlog(path):
    results = {}
    if not os.path.exists(path):
        return results
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            name = t["name"].split(" / ", 1)[-1]
            results[name] = (t["result"], (t.get("stdout") or "") +
                             (t.get("stderr") or ""))
    return results


def main():
    def add_args(p):
        p.add_argument("--timeout-multiplier", type=float, default=3,
                       help="meson's -t: the suite's 10 s per test is tight "
                       "on 2 busy cores (default: %(default)s)")
    args, runs, trees = gatelib.command_line(__doc__, RUNS, 1024,
                                             "FAST_RUNS", add_args)
    tally = gatelib.Tally(gatelib.read_reasons(
        os.path.join(HERE, "base-failures.reasons")))
    start = time.monotonic()
    tests = {}

    def run_build(label, build, run):
        if label not in tests:
            tests[label] = suite_tests(build)
        return run_suite(build, label, run, tests[label],
                         args.timeout_multiplier, args.out)

    done = gatelib.run_builds(args, runs, trees, run_build)
    gatelib.judge_runs(tally, runs, trees, done)
    print("== %s: %.0f s" % (SUITE, time.monotonic() - start))
    return tally.close()


if __name__ == "__main__":
    sys.exit(main())
