#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""EAL memory init cost against the kernel's fault floor, base against
series, root and unprivileged, dynamic and legacy memory; runtime heap
growth; IOVA footprint per mode.

Builds bench/fault-floor.c and, per DPDK build tree, bench/eal-init-cost.c
(static, with the tree's uninstalled pkg-config files) into OUT, reserves
hugepages for the run (tests/hostenv.py), runs every case once as warm-up
and then RUNS times, alternating the cases, and writes:

  OUT/results.json     every sample and every derived figure
  OUT/init-vs-size.png EAL init time against memory size, modes and floor

and prints the tables. Times are wall time measured inside each process
(rte_eal_init; memfd_create + mmap(MAP_POPULATE) for the floor); figures
are ratios to the floor measured in the same run, absolute times are
context only. --quick makes a tiny smoke run (no timing assertion) that
ends with `bench: N passed, N failed, N skipped`.
"""

import argparse
import contextlib
import importlib.util
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests"))
import hostenv  # noqa: E402

PAGE_MIB = 2
CMD_TIMEOUT = 180
# A case that failed this often is not run again (other agents share the
# hugepage pool: a single failure may be theirs).
MAX_FAILURES = 2
# Before each run, wait this long at most for the case's pages to be free
# in the shared pool; a failed run is tried again this many times.
POOL_WAIT = 60
POOL_RETRIES = 2
POOL = "/sys/kernel/mm/hugepages/hugepages-2048kB/"
# Host probe without touching host devices: the PCI bus is scanned as usual
# but only this address (the host bridge, no DPDK driver) may be probed.
EAL_COMMON = ["-l", "0", "-a", "0000:00:00.0"]
# (build, --iova-mode, root only)
MODES = [("base", "va", False), ("base", "pa", True),
         ("series", "va", False), ("series", "dense", False)]
MEMS = ["dynamic", "legacy"]
COLORS = {("base", "va"): "tab:blue", ("base", "pa"): "tab:orange",
          ("series", "va"): "tab:green", ("series", "dense"): "tab:red"}


class BenchError(Exception):
    """One-line message: the cause and the fix."""


def log(msg):
    print(msg, flush=True)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="tiny smoke run: sizes 16,32 MiB, one run, no "
                    "warm-up, growth 32 MiB, output under OUT/quick")
    ap.add_argument("--sizes", default="64,1024,4096",
                    help="memory sizes in MiB (-m), smallest gives the fixed "
                    "cost (default %(default)s)")
    ap.add_argument("--runs", type=int, default=7,
                    help="measured runs per case (default %(default)s)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="warm-up runs per case (default %(default)s)")
    ap.add_argument("--grow-mib", type=int, default=1024,
                    help="runtime growth after init at the smallest size, "
                    "dynamic memory; 0: off (default %(default)s)")
    ap.add_argument("--base-build",
                    default=os.path.join(TOP, "out/main/base/build"))
    ap.add_argument("--series-build",
                    default=os.path.join(TOP, "out/main/series/build"),
                    help="missing: the base build is measured as 'series' "
                    "and the output says so")
    ap.add_argument("--no-user", action="store_true",
                    help="root only (skip the unprivileged runs)")
    ap.add_argument("--no-testbed", action="store_true",
                    help="host only: skip bench/vfio-bench.py (growth and "
                    "VFIO map calls in the test bed's guest)")
    ap.add_argument("--testbed-runs", type=int, default=5,
                    help="timed runs per mode in the guest (default "
                    "%(default)s)")
    ap.add_argument("--out", default=os.path.join(TOP, "out/main/bench"))
    args = ap.parse_args()
    if args.quick:
        # make check runs the test bed matrix; the smoke run stays on the
        # host.
        args.no_testbed = True
        args.sizes, args.runs, args.warmup = "16,32", 1, 0
        args.grow_mib = min(args.grow_mib, 32)
        args.out = os.path.join(args.out, "quick")
    try:
        args.sizes = sorted({int(s) for s in args.sizes.split(",")})
    except ValueError:
        ap.error("--sizes wants MiB numbers separated by commas, e.g. 64,1024")
    if not args.sizes or any(s <= 0 or s % PAGE_MIB for s in args.sizes):
        ap.error("--sizes wants positive even MiB numbers, e.g. 64,1024")
    if args.runs < 1 or args.warmup < 0 or args.grow_mib < 0:
        ap.error("--runs must be >= 1, --warmup and --grow-mib >= 0")
    if args.grow_mib % PAGE_MIB:
        ap.error("--grow-mib must be a multiple of %d" % PAGE_MIB)
    return args


# ---------------------------------------------------------------- building

def compile_to(dest, cmd):
    """Run cc `cmd` writing dest.tmp, then move it to dest."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = dest + ".tmp"
    r = subprocess.run(cmd + ["-o", tmp], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise BenchError("compiling %s failed: %s" %
                         (os.path.basename(dest),
                          r.stdout.strip().splitlines()[-1:]))
    os.replace(tmp, dest)
    return dest


CFLAGS = ["cc", "-O2", "-Wall", "-Wextra", "-Werror"]


def build_floor(out):
    return compile_to(os.path.join(out, "bin", "fault-floor"),
                      CFLAGS + ["-pthread",
                                os.path.join(TOP, "bench", "fault-floor.c")])


def pkg_config(build, *what):
    env = dict(os.environ,
               PKG_CONFIG_PATH=os.path.join(build, "meson-uninstalled"))
    r = subprocess.run(["pkg-config"] + list(what) + ["libdpdk"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if r.returncode != 0:
        raise BenchError("pkg-config libdpdk in %s failed: %s" %
                         (build, r.stdout.strip()))
    return shlex.split(r.stdout)


def usable_build(build):
    return (os.path.isfile(os.path.join(build, "meson-uninstalled",
                                        "libdpdk-uninstalled.pc")) and
            os.path.isfile(os.path.join(build, "lib", "librte_eal.a")))


def build_eal_cost(out, name, build):
    if not usable_build(build):
        raise BenchError("no DPDK static build at %s: build it first "
                         "(make base, or tools/build.sh SRC %s)" %
                         (build, build))
    return compile_to(os.path.join(out, "bin", name, "eal-init-cost"),
                      CFLAGS + [os.path.join(TOP, "bench", "eal-init-cost.c")]
                      + pkg_config(build, "--cflags", "--static", "--libs"))


# ---------------------------------------------------------------- cases

class Case:
    """One command measured at one size; `line` names its plot line."""

    def __init__(self, line, size, argv, user=None, grow=0):
        self.line, self.size, self.argv, self.user = line, size, argv, user
        self.pages = (size + grow) // PAGE_MIB + 4
        self.samples, self.errors = [], []

    def name(self):
        return "%s -m %d" % (self.line["name"], self.size)


def line_info(build, iova, mem, user):
    who = "user" if user else "root"
    return {"name": "%s %s %s %s" % (build, iova, mem, who), "build": build,
            "iova": iova, "mem": mem, "user": who}


FLOOR = {"name": "floor", "build": None, "iova": None, "mem": None,
         "user": "root"}
# The same floor faulted on every CPU: what a parallel EAL init could reach.
FLOOR_THREADS = min(os.cpu_count() or 1, 8)
FLOOR_MT = dict(FLOOR, name="floor %d threads" % FLOOR_THREADS)


def eal_argv(binary, iova, mem, size, mounts, grow, tag):
    argv = [binary] + EAL_COMMON + ["-m", str(size),
                                    "--iova-mode=" + iova,
                                    "--file-prefix", "bench%d-%s" %
                                    (os.getpid(), tag)]
    if mem == "dynamic":
        argv += ["--in-memory"]
    else:
        # legacy maps every free page it can before keeping -m: a mount
        # capped at -m keeps it to this run's pages.
        argv += ["--legacy-mem", "--no-shconf", "--huge-unlink",
                 "--huge-dir", mounts[size]]
    if grow:
        argv += ["--", "--grow-mib", str(grow)]
    return argv


def run_case(case, rtdirs, timeout=CMD_TIMEOUT):
    """Run once; return the JSON result or raise BenchError."""
    try:
        r = hostenv.run(case.argv, timeout, user=case.user,
                        runtime_dir=rtdirs[case.user])
    except subprocess.TimeoutExpired:
        raise BenchError("%s: no result after %d s" %
                         (case.name(), timeout)) from None
    result = None
    lines = r.stdout.splitlines()
    for text in lines:
        if text.startswith('{"tool"'):
            with contextlib.suppress(ValueError):
                result = json.loads(text)
    if r.returncode != 0 or result is None:
        # The first line that names a problem, else the last one.
        why = [s for s in lines if re.search(r"error|invalid|cannot|fail",
                                             s, re.I)] or lines[-1:]
        raise BenchError("%s: exit %d: %s" % (case.name(), r.returncode,
                                              why[0].strip() if why else
                                              "no output"))
    return result


def dense_available(binary, size, rtdirs):
    """None if the build accepts --iova-mode=dense, else the reason."""
    probe = Case(line_info("series", "dense", "dynamic", None), size,
                 eal_argv(binary, "dense", "dynamic", size, {}, 0, "probe"))
    try:
        run_case(probe, rtdirs)
    except BenchError as e:
        return str(e)
    return None


def make_cases(args, bins, mounts, users, dense_reason):
    cases, unavailable = [], []
    for size in args.sizes:
        cases.append(Case(FLOOR, size, [bins["floor"], str(size)]))
        if FLOOR_THREADS > 1:
            cases.append(Case(FLOOR_MT, size, [bins["floor"], str(size),
                                               str(FLOOR_THREADS)]))
    smallest = args.sizes[0]
    for user in users:
        for build, iova, root_only in MODES:
            for mem in MEMS:
                line = line_info(build, iova, mem, user)
                if root_only and user:
                    if mem == MEMS[0]:
                        unavailable.append("NOTE: %s %s as user: not run "
                                           "(PA mode needs root)" %
                                           (build, iova))
                    continue
                if iova == "dense" and dense_reason:
                    if mem == MEMS[0] and user == users[0]:
                        unavailable.append(
                            "SKIP series dense: not available yet (the series "
                            "build rejects --iova-mode=dense: %s)"
                            % dense_reason)
                    continue
                for size in args.sizes:
                    grow = args.grow_mib if (mem == "dynamic" and
                                             size == smallest) else 0
                    tag = "%s-%s-%s-%d" % (build, iova, mem, size)
                    cases.append(Case(line, size, eal_argv(
                        bins[build], iova, mem, size, mounts, grow, tag),
                        user, grow))
    return cases, unavailable


def free_pages():
    counts = []
    for name in ("free_hugepages", "resv_hugepages"):
        with open(POOL + name) as f:
            counts.append(int(f.read()))
    return counts[0] - counts[1]


def wait_for_pages(need):
    """Wait up to POOL_WAIT s until `need` pages are free: other agents
    take pages from the same pool, with or without tests/hostenv.py."""
    t0 = time.monotonic()
    while free_pages() < need and time.monotonic() - t0 < POOL_WAIT:
        time.sleep(0.5)
    if time.monotonic() - t0 >= 1:
        log("  waited %.0f s for %d free hugepages (%d free now)" %
            (time.monotonic() - t0, need, free_pages()))


def run_pooled(case, rtdirs):
    """run_case when the case's pages are free; a failure is tried again
    (after waiting for the pool) before it counts."""
    for attempt in range(POOL_RETRIES + 1):
        wait_for_pages(case.pages)
        try:
            return run_case(case, rtdirs)
        except BenchError as e:
            if attempt == POOL_RETRIES:
                raise
            log("  retrying (%d free hugepages): %s" % (free_pages(), e))


def measure(cases, args, rtdirs):
    rounds = args.warmup + args.runs
    for rnd in range(rounds):
        live = [c for c in cases if len(c.errors) < MAX_FAILURES]
        # Alternate the commands, rotated each round so no case always
        # follows the same one.
        k = rnd % len(live) if live else 0
        order = live[k:] + live[:k]
        t0 = time.monotonic()
        for case in order:
            try:
                result = run_pooled(case, rtdirs)
            except BenchError as e:
                case.errors.append(str(e))
                log("  FAILED %s" % e)
                continue
            if rnd >= args.warmup:
                case.samples.append(result)
        log("round %d/%d (%s): %d cases, %.0f s" %
            (rnd + 1, rounds, "warm-up" if rnd < args.warmup else "measured",
             len(order), time.monotonic() - t0))


# ---------------------------------------------------------------- figures

def init_time(sample):
    return sample["map_s"] if sample["tool"] == "fault-floor" \
        else sample["init_s"]


def stats(values):
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "n": len(values)}


def slope(points):
    """Least-squares slope of (x, y) points; None for fewer than 2 x."""
    if len({x for x, _ in points}) < 2:
        return None
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    return (sum((x - mx) * (y - my) for x, y in points) /
            sum((x - mx) ** 2 for x, _ in points))


def ratio(a, b):
    return a / b if a is not None and b else None


# The summary is computed twice: from the medians, and from the minimums,
# the runs least disturbed by other load on a shared machine.
ESTIMATORS = ("median", "min")


def cost(by_size, smallest, est):
    """Fixed cost (at the smallest size) and marginal cost per GiB."""
    fixed = by_size[smallest][est] if by_size.get(smallest) else None
    marginal = slope([(size / 1024, st[est])
                      for size, st in by_size.items() if st])
    return {"fixed_s": fixed, "marginal_s_per_gib": marginal}


def base_of(row, rows):
    """The base line a row compares to: same memory model and user, va for
    dense; None for the floor."""
    if row["build"] is None:
        return None
    iova = "va" if row["iova"] == "dense" else row["iova"]
    ref = [r for r in rows if r["build"] == "base" and r["iova"] == iova
           and r["mem"] == row["mem"] and r["user"] == row["user"]]
    return ref[0] if ref else None


def summarize(cases, args):
    lines = {}
    for c in cases:
        lines.setdefault(c.line["name"], {"line": c.line, "cases": []})
        lines[c.line["name"]]["cases"].append(c)
    summary = []
    for name, entry in lines.items():
        by_size = {c.size: stats([init_time(s) for s in c.samples])
                   for c in entry["cases"]}
        summary.append({
            "name": name, **entry["line"],
            "init_s": {str(k): v for k, v in by_size.items()},
            **{est: cost(by_size, args.sizes[0], est) for est in ESTIMATORS},
            "errors": [e for c in entry["cases"] for e in c.errors]})
    floor = [r for r in summary if r["name"] == FLOOR["name"]][0]
    for row in summary:
        ref = base_of(row, summary)
        for est in ESTIMATORS:
            fig = row[est]
            for key in ("fixed_s", "marginal_s_per_gib"):
                short = key.split("_")[0]
                fig[short + "_x_floor"] = ratio(fig[key], floor[est][key])
                fig[short + "_x_base"] = ratio(
                    fig[key], ref[est][key] if ref else None)
    return summary


def growth(cases):
    rows = []
    for c in cases:
        grown = [s["grow"] for s in c.samples if "grow" in s]
        if not grown:
            continue
        first = [s for s in c.samples if "grow" in s][0]
        rows.append({"name": c.line["name"], **c.line, "size_mib": c.size,
                     "grow_bytes": grown[0]["bytes"],
                     "pages_added": grown[0]["iova"]["segs"] -
                     first["iova"]["segs"],
                     "alloc_s": stats([g["alloc_s"] for g in grown]),
                     "free_s": stats([g["free_s"] for g in grown]),
                     "iova_at_peak": grown[0]["iova"]})
    for row in rows:
        ref = [r for r in rows if r["build"] == "base" and r["iova"] == "va"
               and r["user"] == row["user"]]
        for key in ("alloc_s", "free_s"):
            row[key + "_x_base_va"] = {
                est: ratio(row[key][est], ref[0][key][est] if ref else None)
                for est in ESTIMATORS}
    return rows


def footprint(cases):
    """IOVA footprint after init at each line's largest measured size."""
    rows = {}
    for c in cases:
        if not c.samples or c.line["build"] is None:
            continue
        if c.line["name"] not in rows or c.size > rows[c.line["name"]][0]:
            rows[c.line["name"]] = (c.size, c)
    out = []
    for name, (size, c) in rows.items():
        s = c.samples[0]
        out.append({"name": name, **c.line, "size_mib": size,
                    "iova_mode": s["iova_mode"], **s["iova"]})
    return out


# ---------------------------------------------------------------- output

def fmt(v, spec="%.3f"):
    return "-" if v is None else spec % v


def fmt_stat(st):
    if not st:
        return "FAILED"
    return "%.3f [%.3f-%.3f]" % (st["median"], st["min"], st["max"])


def tables(res):
    """The report as a list of lines."""
    out = []
    add = out.append
    sizes = res["config"]["sizes_mib"]
    add("\nEAL init time (s), median [min-max] of %d runs after %d "
        "warm-up; floor = memfd + mmap(MAP_POPULATE)" %
        (res["config"]["runs"], res["config"]["warmup"]))
    add("%-28s" % "case" + "".join("%24s" % ("-m %d" % s) for s in sizes))
    for row in res["summary"]:
        add("%-28s" % row["name"] + "".join(
            "%24s" % fmt_stat(row["init_s"].get(str(s))) for s in sizes))
    for est in ESTIMATORS:
        add("\nFixed cost (-m %d) and marginal cost per GiB from the %s "
            "times, as ratios to the floor and to the base" % (sizes[0], est))
        add("%-28s%10s%9s%8s%14s%9s%8s" % ("case", "fixed s", "x floor",
                                           "x base", "marg s/GiB",
                                           "x floor", "x base"))
        for row in res["summary"]:
            fig = row[est]
            add("%-28s%10s%9s%8s%14s%9s%8s" % (
                row["name"], fmt(fig["fixed_s"]),
                fmt(fig["fixed_x_floor"], "%.2f"),
                fmt(fig["fixed_x_base"], "%.2f"),
                fmt(fig["marginal_s_per_gib"]),
                fmt(fig["marginal_x_floor"], "%.2f"),
                fmt(fig["marginal_x_base"], "%.2f")))
    if res["growth"]:
        g = res["growth"][0]
        add("\nRuntime growth: rte_malloc %d MiB in %d MiB steps after init "
            "(-m %d, dynamic; %d pages added), then rte_free; ratio to "
            "base va" % (round(g["grow_bytes"] / 2 ** 20), PAGE_MIB,
                         g["size_mib"], g["pages_added"]))
        add("%-28s%24s%24s%12s%12s" % ("case", "alloc s", "free s",
                                       "alloc x", "free x"))
        add("%-28s%24s%24s%12s%12s" % ("", "", "", "median/min",
                                       "median/min"))
        for row in res["growth"]:
            add("%-28s%24s%24s%12s%12s" % (
                row["name"], fmt_stat(row["alloc_s"]),
                fmt_stat(row["free_s"]),
                "/".join(fmt(row["alloc_s_x_base_va"][est], "%.2f")
                         for est in ESTIMATORS),
                "/".join(fmt(row["free_s_x_base_va"][est], "%.2f")
                         for est in ESTIMATORS)))
    add("\nIOVA footprint after init at the largest size, and at the peak "
        "of the growth run (-m %d + growth)" % sizes[0])
    add("%-28s%6s%6s%6s%20s%20s%11s%9s%5s%9s" % (
        "case", "-m", "mode", "segs", "lowest IOVA", "highest IOVA",
        "span MiB", "span/mem", "bits", "min bits"))
    peaks = {g["name"]: g for g in res["growth"]}
    tail = []
    if res["alloc_perf"]:
        tail += alloc_perf_table(res["alloc_perf"])
    if res["testbed"]:
        tail += res["testbed"]["table"]
    for row in res["footprint"]:
        add(footprint_line(row["name"], row["size_mib"], row["iova_mode"],
                           row))
        g = peaks.get(row["name"])
        if g:
            add(footprint_line("  grown by %d MiB" %
                               round(g["grow_bytes"] / 2 ** 20),
                               g["size_mib"], "", g["iova_at_peak"]))
    out += tail + res["unavailable"]
    return out


def footprint_line(name, size, mode, fp):
    """span/mem: IOVA span over the memory in use (dense target: 1);
    min bits: the bits that memory needs at the least, ceil(log2(bytes))
    (dense target: bits equal to it)."""
    return "%-28s%6s%6s%6d%#20x%#20x%11d%9s%5d%9d" % (
        name, size, mode, fp["segs"], fp["lo"],
        fp["hi"] - 1 if fp["hi"] else 0, fp["span"] >> 20,
        fmt(ratio(fp["span"], fp["bytes"]), "%.2f"), fp["bits"],
        math.ceil(math.log2(fp["bytes"])) if fp["bytes"] else 0)


def plot(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    for ax, mem in zip(axes, MEMS):
        for row in res["summary"]:
            if row["mem"] not in (mem, None):
                continue
            pts = sorted((int(k), v) for k, v in row["init_s"].items() if v)
            if not pts:
                continue
            xs = [k for k, _ in pts]
            med = [v["median"] for _, v in pts]
            err = [[v["median"] - v["min"] for _, v in pts],
                   [v["max"] - v["median"] for _, v in pts]]
            if row["build"] is None:
                style = dict(color="black", linewidth=2.5,
                             label=row["name"] + " (memfd, populate)")
                if row["name"] != "floor":
                    style.update(color="gray", linestyle=":")
            else:
                style = dict(color=COLORS[(row["build"], row["iova"])],
                             label="%s %s %s" % (row["build"], row["iova"],
                                                 row["user"]))
                if row["user"] == "user":
                    style["linestyle"] = "--"
            ax.errorbar(xs, med, yerr=err, marker="o", capsize=3, **style)
        ax.set_xscale("log", base=2)
        ax.set_xticks(res["config"]["sizes_mib"],
                      [str(m) for m in res["config"]["sizes_mib"]])
        ax.set_yscale("log")
        ax.set_xlabel("memory (-m, MiB)")
        ax.set_title("%s memory%s" % (mem, ", --in-memory"
                                      if mem == "dynamic" else ""))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("rte_eal_init wall time (s), median, min-max")
    fig.suptitle("EAL init time against memory size (%s, %s)" %
                 (res["machine"]["cpu"], res["date"]), fontsize=9)
    fig.tight_layout()
    fig.savefig(path + ".tmp.png", dpi=100)
    plt.close(fig)
    os.replace(path + ".tmp.png", path)


def machine():
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for text in f:
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
            "mem_gib": round(mem_kb / 2 ** 20, 1),
            "loadavg": os.getloadavg()}


def write_json(res, path):
    with open(path + ".tmp", "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------- more

ALLOC_PERF_TEST = "iova_alloc_perf_autotest"
ALLOC_PERF_LINE = re.compile(r"^\s*(\d+) live blocks:\s+(\d+) get\+put "
                             r"ops/s")


def alloc_perf(build, runs):
    """dpdk-test's IOVA allocator perf autotest (series only): get+put
    ops/s per number of live ranges, `runs` times; (rows, None) or
    (None, why it did not run)."""
    test = os.path.join(build, "app", "test", "dpdk-test")
    argv = [test, "-l", "0", "--no-huge", "--no-shconf", "-m", "64",
            "--no-pci", "--file-prefix", "benchperf%d" % os.getpid()]
    samples = {}
    for _ in range(runs):
        try:
            r = hostenv.run(argv, CMD_TIMEOUT,
                            env={"DPDK_TEST": ALLOC_PERF_TEST})
        except subprocess.TimeoutExpired:
            return None, "no result after %d s" % CMD_TIMEOUT
        found = [ALLOC_PERF_LINE.match(t) for t in r.stdout.splitlines()]
        found = [m for m in found if m]
        if r.returncode != 0 or "Test OK" not in r.stdout or not found:
            lines = [t for t in r.stdout.splitlines() if t.strip()]
            return None, "exit %d: %s" % (r.returncode, (
                [t for t in lines if "not found" in t.lower() or
                 "fail" in t.lower()] or lines[-1:] or ["no output"])[0])
        for m in found:
            samples.setdefault(int(m.group(1)), []).append(int(m.group(2)))
    rows = [{"live": live, "ops_s": stats(v)}
            for live, v in sorted(samples.items())]
    for row in rows:
        row["x_smallest"] = ratio(row["ops_s"]["median"],
                                  rows[0]["ops_s"]["median"])
    return rows, None


def alloc_perf_table(rows):
    out = ["\nIOVA allocator (dpdk-test %s, series): get+put operations "
           "per second against the live ranges, median [min-max] of %d" %
           (ALLOC_PERF_TEST, rows[0]["ops_s"]["n"])]
    out.append("%12s%34s%14s" % ("live ranges", "ops/s", "x smallest"))
    for row in rows:
        st = row["ops_s"]
        out.append("%12d%34s%14s" % (row["live"], "%.3g [%.3g-%.3g]" % (
            st["median"], st["min"], st["max"]),
            fmt(row["x_smallest"], "%.3f")))
    return out


def testbed_part(args, series_build, dense_reason):
    """bench/vfio-bench.py (growth and VFIO map calls in the guest): its
    results, or None and the reason."""
    path = os.path.join(args.out, "vfio.json")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    modes = "base:va,series:va" + ("" if dense_reason else ",series:dense")
    r = subprocess.run([sys.executable,
                        os.path.join(TOP, "bench", "vfio-bench.py"),
                        "--base-build", args.base_build,
                        "--series-build", series_build, "--modes", modes,
                        "--grow-mib", str(args.grow_mib or 1024),
                        "--runs", str(args.testbed_runs),
                        "--out", args.out])
    if not os.path.exists(path):
        return None, "bench/vfio-bench.py exit %d, no results (see above)" \
            % r.returncode
    with open(path) as f:
        return json.load(f), None


# ---------------------------------------------------------------- main

def pages_for(sizes, grow):
    """Pages one case may hold at once, plus a little EAL slack."""
    return max(max(sizes), sizes[0] + grow) // PAGE_MIB + 16


def reserve(stack, args):
    """Hold hugepages for the sizes that fit (largest dropped first) until
    `stack` closes; return those sizes."""
    sizes = list(args.sizes)
    while True:
        try:
            stack.enter_context(hostenv.hugepages(
                pages_for(sizes, args.grow_mib)))
            return sizes
        except hostenv.HostEnvError as e:
            if "no hugepages available" not in str(e) or len(sizes) < 2:
                raise
            log("NOTE: -m %d dropped: %s" % (sizes[-1], e))
            sizes.pop()


def main():
    args = parse_args()
    if os.geteuid() != 0:
        raise BenchError("the benchmark reserves hugepages and runs as two "
                         "users: run it as root")
    have_plot = importlib.util.find_spec("matplotlib") is not None
    if not have_plot and not args.quick:
        raise BenchError("python3-matplotlib is missing: run "
                         "tools/install-deps.sh bench")
    os.makedirs(args.out, exist_ok=True)
    started = time.monotonic()
    bins = {"floor": build_floor(args.out),
            "base": build_eal_cost(args.out, "base", args.base_build)}
    series_build = args.series_build
    if not usable_build(series_build):
        log("NOTE: no series build at %s: measuring the base build as "
            "'series' (make series builds it)" % series_build)
        series_build = args.base_build
    bins["series"] = build_eal_cost(args.out, "series", series_build)

    users = [None]
    if not args.no_user:
        hostenv.ensure_user()
        users.append(hostenv.TEST_USER)

    with contextlib.ExitStack() as stack:
        t0 = time.monotonic()
        sizes = args.sizes = reserve(stack, args)
        log("hugepages for sizes %s MiB held after %.0f s (the lock is "
            "shared with other tests/hostenv.py users)" %
            (",".join(map(str, sizes)), time.monotonic() - t0))
        rtdirs = {u: stack.enter_context(hostenv.runtime_dir(u))
                  for u in users}
        mounts = {s: stack.enter_context(hostenv.hugetlbfs(
            owner=users[-1], size=s << 20)) for s in sizes}
        dense_reason = dense_available(bins["series"], sizes[0], rtdirs)
        cases, unavailable = make_cases(args, bins, mounts, users,
                                        dense_reason)
        log("%d cases x (%d warm-up + %d runs), sizes %s MiB, %s" %
            (len(cases), args.warmup, args.runs,
             ",".join(map(str, sizes)), "root and user %s" % users[-1]
             if len(users) > 1 else "root only"))
        measure(cases, args, rtdirs)

    perf, perf_why = None, "the series build is the base build"
    if series_build != args.base_build:
        perf, perf_why = alloc_perf(series_build, min(args.runs, 3))
    if perf_why:
        unavailable.append("SKIP IOVA allocator micro-benchmark: %s" %
                           perf_why)
    testbed, testbed_why = None, "not in --quick (make check runs the " \
        "test bed matrix)" if args.quick else "--no-testbed"
    if not args.no_testbed:
        log("\ntest bed part: bench/vfio-bench.py")
        testbed, testbed_why = testbed_part(args, series_build, dense_reason)
    if testbed_why:
        unavailable.append("%s test bed part: %s" % (
            "NOTE" if args.no_testbed else "FAILED", testbed_why))
    res = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "machine": machine(),
           "config": {"sizes_mib": sizes, "runs": args.runs,
                      "warmup": args.warmup, "grow_mib": args.grow_mib,
                      "eal_common": EAL_COMMON,
                      "builds": {"base": args.base_build,
                                 "series": series_build},
                      "series_is_base": series_build == args.base_build},
           "summary": summarize(cases, args), "growth": growth(cases),
           "footprint": footprint(cases), "unavailable": unavailable,
           "alloc_perf": perf, "testbed": testbed,
           "cases": [{"name": c.name(), **c.line, "size_mib": c.size,
                      "argv": c.argv, "errors": c.errors,
                      "samples": c.samples} for c in cases],
           "elapsed_s": None}
    report = tables(res)
    log("\n".join(report))
    with open(os.path.join(args.out, "tables.txt.tmp"), "w") as f:
        f.write("%s, %s\n%s\n" % (res["date"], res["machine"]["cpu"],
                                   "\n".join(report)))
    os.replace(os.path.join(args.out, "tables.txt.tmp"),
               os.path.join(args.out, "tables.txt"))
    skipped = 0
    png = os.path.join(args.out, "init-vs-size.png")
    if have_plot:
        plot(res, png)
    else:
        log("SKIP plot: python3-matplotlib not installed "
            "(tools/install-deps.sh bench)")
        skipped = 1
    res["elapsed_s"] = round(time.monotonic() - started, 1)
    path = os.path.join(args.out, "results.json")
    write_json(res, path)
    failed = sum(1 for c in cases if c.errors) + \
        (1 if testbed_why and not args.no_testbed else 0) + \
        (1 if testbed and testbed["errors"] else 0)
    log("\nresults: %s%s (%.0f s)" % (os.path.relpath(path),
                                      ", " + os.path.relpath(png)
                                      if have_plot else "", res["elapsed_s"]))
    if args.quick:
        log("bench: %d passed, %d failed, %d skipped" %
            (len(cases) - failed + have_plot, failed,
             skipped + sum(1 for u in unavailable
                           if u.startswith("SKIP"))))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchError, hostenv.HostEnvError) as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)
