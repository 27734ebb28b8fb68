#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run the EAL memory autotests of dpdk-test (host-autotests.list, plus
the series' own in bases/BASE/series-autotests.list) on the base and the series
build, once per run of RUNS (root, the unprivileged test user with a
hugetlbfs it owns, the same user with --in-memory, the user in dense IOVA
mode, and root in PA mode for the IOVA mode flags test), and fail on any
test that is OK on the base and not OK with the series.

Usage: run-host-tests.py BASE_BUILD SERIES_BUILD [--dpdk-base NAME]
                         [--runs root,user,...]
(pass the same directory twice while the series is empty: it runs once).

Each test is one dpdk-test process (DPDK_TEST=name) with its own
--file-prefix; each run has its own hugetlbfs (owned by the run's user, the
only one visible, in a private mount namespace) and runtime directory.
Outputs land in out/BASE/tests/host-tests/BUILD-RUN/TEST.log.
"""

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
    Run("user-inmem", True, ["--in-memory"], cannot=dict(
        gatelib.DENSE_ONLY,
        **{"eal_flags_%s_autotest" % t: "its child processes attach as "
           "secondaries, and an --in-memory primary shares no config"
           for t in ("c_opt", "main_opt", "hpet", "a_opt", "b_opt", "r_opt",
                     "mem", "misc")},
        eal_flags_file_prefix_autotest="checks the hugepage files of its "
        "own prefix, which --in-memory never creates",
        eal_flags_iova_mode_autotest="its secondary cases attach to the "
        "test process, and an --in-memory primary shares no config (the "
        "test says so and skips)",
        eal_dma_hook_autotest="with --in-memory the EAL takes every kernel "
        "hugepage size as usable, so the test sizes its growth for the 1 GiB "
        "pages the host offers with 0 pages, and skips")),
    Run("user-dense", True, ["--iova-mode=dense"], base="user"),
    # A root primary in IOVA as PA mode: the secondaries the test starts
    # (--no-pci, with and without --iova-mode) must use PA too, or refuse
    # (issue 12, item 1: they used to choose VA on their own).
    Run("root-pa", False, ["--iova-mode=pa"],
        tests=("eal_flags_iova_mode_autotest",)),
]
TIMEOUT = 120
EXIT_SKIP = 77


def run_test(build, test, run, huge, rt):
    """One autotest in one build -> (result, output)."""
    argv = [os.path.join(build, "app", "test", "dpdk-test"),
            "--file-prefix=ht-" + test, "--huge-dir", huge] + run.eal
    if test not in gatelib.NO_ALLOW_TESTS:
        argv += gatelib.NO_PCI_ARGS
    env = {"DPDK_TEST": test}
    if not run.user:
        env["RUNTIME_DIRECTORY"] = rt
    try:
        r = hostenv.run(argv, TIMEOUT, env=env, runtime_dir=rt,
                        user=hostenv.TEST_USER if run.user else None)
    except subprocess.TimeoutExpired as e:
        return "TIMEOUT", e.output or ""
    if "invalid test command" in r.stdout:
        return None  # this build has no such test
    if r.returncode == 0:
        return "OK", r.stdout
    if r.returncode == EXIT_SKIP:
        return "SKIP", r.stdout
    return "FAIL", r.stdout


def run_all(build, label, run, tests, out):
    """All tests of one build for one run -> {test: (result, output)}."""
    logdir = os.path.join(out, "tests", "host-tests",
                          "%s-%s" % (label, run.name))
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir + ".tmp", exist_ok=True)
    results = {}
    with gatelib.dpdk_env(hostenv.TEST_USER if run.user else None) as \
            (huge, rt):
        for test in tests:
            if test in run.cannot or not gatelib.run_is_for(run, test):
                continue
            res = run_test(build, test, run, huge, rt)
            if res is None:
                continue
            results[test] = res
            with open(os.path.join(logdir + ".tmp", test + ".log"),
                      "w") as f:
                f.write(res[1])
    os.rename(logdir + ".tmp", logdir)
    return results


def main():
    args, runs, trees = gatelib.command_line(__doc__, RUNS, 512, "HOST_RUNS")
    tests = []
    for path in (os.path.join(HERE, "host-autotests.list"),
                 os.path.join(gatelib.TOP, "bases", args.dpdk_base,
                              "series-autotests.list")):
        tests += [t for t in gatelib.read_list(path) if t not in tests]
    tally = gatelib.Tally(gatelib.read_reasons(
        os.path.join(HERE, "base-failures.reasons")))
    start = time.monotonic()
    done = gatelib.run_builds(args, runs, trees, lambda label, d, run:
                              run_all(d, label, run, tests, args.out))
    gatelib.judge_runs(tally, runs, trees, done, tests)
    print("== host tests: %.0f s" % (time.monotonic() - start))
    return tally.close()


if __name__ == "__main__":
    sys.exit(main())
