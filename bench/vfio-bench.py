#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Runtime heap growth and VFIO DMA map calls with real VFIO: base va
against series va and dense, as uid 1000, in the test bed's QEMU guest.

Builds bench/eal-init-cost.c against each build (bench/run-bench.py does
the same for the host), puts both binaries into the test bed's initramfs
(testbed/make-initramfs.py --add) and boots one guest (QEMU 7.2, kernel
6.1, intel-iommu aw-bits 39, one virtio-net NIC on vfio-pci, passed with
-a so the EAL maps its memory through VFIO type1). In that boot it runs,
per mode: init at --init-mib (--in-memory), then rte_malloc --grow-mib in
2 MiB steps and rte_free of all (alloc + pin + map; unmap + unpin), timed
inside the process; the modes alternate, one warm-up round then --runs
rounds; then one more run per mode under strace counting the
VFIO_IOMMU_MAP_DMA / UNMAP_DMA ioctls of each phase (init, grow, free,
cleanup; the program marks the phases). Times are never taken under
strace.

Writes OUT/vfio.json (every sample and figure, and the table lines) and
prints the table. Exits non-zero when a case failed.
"""

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "testbed"))
import tblib  # noqa: E402


def load_run_bench():
    """bench/run-bench.py as a module: its build and statistics helpers."""
    spec = importlib.util.spec_from_file_location(
        "run_bench", os.path.join(TOP, "bench", "run-bench.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


rb = load_run_bench()

KERNEL = "6.1"
PAGE_MIB = rb.PAGE_MIB
# type1's default for the module parameter dma_entry_limit (read in the
# guest too): the number of DMA mappings one container may hold.
DEFAULT_ENTRY_LIMIT = 65535
BOOT_ALLOWANCE = 90     # seconds for the guest to reach /init under TCG
PHASES = ("init", "grow", "free", "cleanup")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-build",
                    default=os.path.join(TOP, "out/main/base/build"))
    ap.add_argument("--series-build",
                    default=os.path.join(TOP, "out/main/series/build"))
    ap.add_argument("--modes", default="base:va,series:va,series:dense",
                    help="BUILD:IOVA-MODE list; the first is the reference "
                    "(default %(default)s)")
    ap.add_argument("--init-mib", type=int, default=64,
                    help="-m at init (default %(default)s)")
    ap.add_argument("--grow-mib", type=int, default=1024,
                    help="runtime growth (default %(default)s)")
    ap.add_argument("--runs", type=int, default=5,
                    help="timed runs per mode (default %(default)s)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="warm-up runs per mode (default %(default)s)")
    ap.add_argument("--memlock", default="",
                    help="RLIMIT_MEMLOCK in the guest: bytes, K/M/G or "
                    "unlimited (default: what the run pins, plus 64 MiB)")
    ap.add_argument("--limit", type=int, default=120,
                    help="seconds one run may take in the guest "
                    "(default %(default)s)")
    ap.add_argument("--out", default=os.path.join(TOP, "out/main/bench"))
    args = ap.parse_args()
    modes = []
    for item in args.modes.split(","):
        build, _, iova = item.partition(":")
        if build not in ("base", "series") or not iova:
            ap.error("--modes wants BUILD:MODE items with BUILD base or "
                     "series, e.g. base:va,series:dense")
        modes.append((build, iova))
    args.modes = modes
    try:
        args.memlock = args.memlock and tblib.parse_size(args.memlock,
                                                         "--memlock")
    except tblib.DataError as e:
        ap.error(str(e))
    if args.grow_mib <= 0 or args.grow_mib % PAGE_MIB or \
            args.init_mib <= 0 or args.init_mib % PAGE_MIB:
        ap.error("--grow-mib and --init-mib must be positive multiples "
                 "of %d" % PAGE_MIB)
    if args.runs < 1 or args.warmup < 0:
        ap.error("--runs must be >= 1, --warmup >= 0")
    return args


def make_initramfs(bins, base_build, work):
    """The test bed's initramfs (base build's programs) plus
    /bin/eal-init-cost-NAME per build."""
    dest = os.path.join(work, "initramfs-%s.cpio" % KERNEL)
    cmd = [sys.executable, os.path.join(TOP, "testbed", "make-initramfs.py")]
    for name, path in bins.items():
        cmd += ["--add", "%s:eal-init-cost-%s" % (path, name)]
    r = subprocess.run(cmd + [base_build, KERNEL, dest],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if r.returncode != 0:
        raise rb.BenchError("initramfs: " +
                            (r.stdout.strip().splitlines() or ["?"])[-1])
    return dest


def scenario(name, build, iova, args, trace):
    """A test bed case (tblib FIELDS) running eal-init-cost in the guest."""
    pages = (args.init_mib + args.grow_mib) // PAGE_MIB + 16
    return dict(tblib.FIELDS, name=name, program="eal-init-cost-" + build,
                drivers=["vfio-pci", "none"], uid=1000,
                memlock=args.memlock or str((pages * PAGE_MIB + 64) << 20),
                hugepages=pages,
                eal=["--in-memory", "-m", str(args.init_mib),
                     "--iova-mode=" + iova, "--",
                     "--grow-mib", str(args.grow_mib)],
                limit=args.limit, trace_vfio=trace,
                build=build, iova=iova)


def plan(args):
    """Warm-up and timed rounds, the modes rotated each round, then one
    strace run per mode."""
    scs = []
    for rnd in range(args.warmup + args.runs):
        k = rnd % len(args.modes)
        for build, iova in args.modes[k:] + args.modes[:k]:
            sc = scenario("%s-%s-r%d" % (build, iova, rnd), build, iova,
                          args, False)
            sc["timed"] = rnd >= args.warmup
            scs.append(sc)
    for build, iova in args.modes:
        sc = scenario("%s-%s-strace" % (build, iova), build, iova, args,
                      True)
        sc["timed"] = False
        scs.append(sc)
    return scs


def check(sc, case):
    """(result JSON, None) or (None, why) for one case of the console."""
    if case is None or not case["end"]:
        return None, "guest hung or crashed before the case ended"
    if case["setup"]:
        return None, "guest setup failed: " + "; ".join(case["setup"])
    if case["timeout"]:
        return None, "killed after %d s" % sc["limit"]
    dmesg = "\n".join(case["dmesg"])
    for pat in tblib.FAULT_LINES + tblib.CRASH_LINES:
        m = re.search(pat, dmesg + "\n" + "\n".join(case["output"]))
        if m:
            return None, "fault or crash: " + tblib.normalise(m.group(0))
    result = None
    for line in case["output"]:
        if line.startswith('{"tool"'):
            try:
                result = json.loads(line)
            except ValueError:
                return None, "result line broken by other output: " + \
                    line[:120]
    if case["rc"] != 0 or result is None:
        why = [s for s in case["output"] if re.search(
            r"error|invalid|cannot|fail", s, re.I)] or case["output"][-1:]
        return None, "exit %s: %s" % (case["rc"], why[0].strip()
                                      if why else "no output")
    if sc["trace_vfio"]:
        result["vfio"] = {}
        for text in case["vfio"]:
            phase, maps, unmaps, failed = text.split()
            result["vfio"][phase] = {"maps": int(maps),
                                     "unmaps": int(unmaps),
                                     "failed": int(failed)}
    return result, None


def run_guest(scs, assets, accel, initramfs, work):
    """Boot once, run SCS; ({name: case}, boot info, entry limit)."""
    prefix = os.path.join(work, "boot")
    script = tblib.boot_script(scs).replace(
        "\n", "\necho \"@@TB ENTRY-LIMIT $(cat /sys/module/vfio_iommu_type1"
        "/parameters/dma_entry_limit)\"\n", 1)
    tblib.boot_initrd(initramfs, script, prefix + ".cpio")
    log = prefix + ".log"
    argv, env = tblib.qemu_command(scs[0], assets, accel, prefix + ".cpio",
                                   log)
    timeout = BOOT_ALLOWANCE + sum(sc["limit"] + 15 for sc in scs)
    done = [0]

    def follow(line):
        if line.startswith("@@TB END "):
            done[0] += 1
            rb.log("  guest: %d/%d cases done (%s)" %
                   (done[0], len(scs), line[9:]))

    rc, secs, qemu_out = tblib.run_guest(argv, env, log, timeout, follow)
    with open(log, errors="replace") as f:
        text = f.read()
    boot, cases = tblib.parse_console(text)
    m = re.search(r"@@TB ENTRY-LIMIT (\d+)", text)
    boot.update(rc=rc, seconds=secs, log=log, qemu_out=qemu_out.strip(),
                entry_limit=int(m.group(1)) if m else None)
    return cases, boot


def line_name(build, iova):
    return "%s %s" % (build, iova)


def growth_rows(scs, results, args):
    rows = []
    for build, iova in args.modes:
        samples = [results[sc["name"]] for sc in scs
                   if sc["timed"] and sc["build"] == build and
                   sc["iova"] == iova and sc["name"] in results]
        grown = [s["grow"] for s in samples]
        row = {"name": line_name(build, iova), "build": build, "iova": iova,
               "runs": len(samples),
               "init_s": rb.stats([s["init_s"] for s in samples]),
               "alloc_s": rb.stats([g["alloc_s"] for g in grown]),
               "free_s": rb.stats([g["free_s"] for g in grown]),
               "alloc_step_s": rb.stats([g["alloc_step_s"] for g in grown]),
               "free_step_s": rb.stats([g["free_step_s"] for g in grown])}
        if samples:
            row.update(iova_mode=samples[0]["iova_mode"],
                       grow_bytes=grown[0]["bytes"],
                       pages_added=grown[0]["iova"]["segs"] -
                       samples[0]["iova"]["segs"],
                       iova_at_init=samples[0]["iova"],
                       iova_at_peak=grown[0]["iova"])
        rows.append(row)
    ref = rows[0]
    for row in rows:
        for key in ("init_s", "alloc_s", "free_s", "alloc_step_s",
                    "free_step_s"):
            row[key + "_x_ref"] = {
                est: rb.ratio(row[key][est] if row[key] else None,
                              ref[key][est] if ref[key] else None)
                for est in rb.ESTIMATORS}
    return rows


def vfio_rows(scs, results, args, limit):
    """Map calls per phase and per GiB, live entries at the growth peak,
    and what the entry limit caps at that density."""
    rows = []
    for sc in scs:
        res = results.get(sc["name"])
        if not sc["trace_vfio"] or not res or "grow" not in res:
            continue
        v = {p: res["vfio"].get(p, {"maps": 0, "unmaps": 0, "failed": 0})
             for p in PHASES}
        init_gib = res["iova"]["bytes"] / 2 ** 30
        grow_gib = (res["grow"]["iova"]["bytes"] -
                    res["iova"]["bytes"]) / 2 ** 30
        entries = sum(v[p]["maps"] - v[p]["unmaps"] for p in ("init",
                                                              "grow"))
        peak_gib = res["grow"]["iova"]["bytes"] / 2 ** 30
        rows.append({
            "name": line_name(sc["build"], sc["iova"]), "build": sc["build"],
            "iova": sc["iova"], "phases": v,
            "init_gib": init_gib, "grow_gib": grow_gib,
            "maps_per_gib_init": rb.ratio(v["init"]["maps"], init_gib),
            "maps_per_gib_grow": rb.ratio(v["grow"]["maps"], grow_gib),
            "entries_at_peak": entries, "peak_gib": peak_gib,
            "gib_per_entry": rb.ratio(peak_gib, entries),
            "entry_limit": limit,
            "gib_capped_by_limit": rb.ratio(peak_gib * limit, entries)})
    return rows


def fmt_ms(st):
    if not st:
        return "FAILED"
    return "%.3f [%.3f-%.3f]" % (st["median"] * 1e3, st["min"] * 1e3,
                                 st["max"] * 1e3)


def table(res):
    out = []
    add = out.append
    cfg = res["config"]
    g = res["growth"]
    ref = g[0]["name"]
    memlock = cfg["memlock"] if cfg["memlock"] == "unlimited" else \
        "%d MiB" % (int(cfg["memlock"]) >> 20)
    add("\nTest bed (QEMU %s TCG guest, intel-iommu aw-bits 39, virtio-net "
        "on vfio-pci, uid 1000, memlock %s): runtime growth, rte_malloc "
        "%d MiB in %d MiB steps after init (-m %d, --in-memory), then "
        "rte_free; median [min-max] of %d runs after %d warm-up; ratio "
        "to %s" % (cfg["qemu"], memlock, cfg["grow_mib"], PAGE_MIB,
                   cfg["init_mib"], cfg["runs"], cfg["warmup"], ref))
    add("%-16s%6s%24s%24s%24s%12s%12s" % (
        "case", "mode", "init s", "alloc s", "free s", "alloc x",
        "free x"))
    add("%-16s%6s%24s%24s%24s%12s%12s" % ("", "", "", "", "", "median/min",
                                          "median/min"))
    for row in g:
        add("%-16s%6s%24s%24s%24s%12s%12s" % (
            row["name"], row.get("iova_mode", "-"),
            rb.fmt_stat(row["init_s"]), rb.fmt_stat(row["alloc_s"]),
            rb.fmt_stat(row["free_s"]),
            "/".join(rb.fmt(row["alloc_s_x_ref"][e], "%.2f")
                     for e in rb.ESTIMATORS),
            "/".join(rb.fmt(row["free_s_x_ref"][e], "%.2f")
                     for e in rb.ESTIMATORS)))
    add("\nTest bed: the median 2 MiB step of each run (one rte_malloc, "
        "one rte_free; steady against a few disturbed steps), median "
        "[min-max] over the runs, ms; ratio to %s" % ref)
    add("%-16s%26s%26s%12s%12s" % ("case", "alloc step ms", "free step ms",
                                   "alloc x", "free x"))
    add("%-16s%26s%26s%12s%12s" % ("", "", "", "median/min", "median/min"))
    for row in g:
        add("%-16s%26s%26s%12s%12s" % (
            row["name"], *[fmt_ms(row[k]) for k in ("alloc_step_s",
                                                    "free_step_s")],
            *["/".join(rb.fmt(row[k + "_x_ref"][e], "%.2f")
                       for e in rb.ESTIMATORS)
              for k in ("alloc_step_s", "free_step_s")]))
    add("\nTest bed: VFIO_IOMMU_MAP_DMA / UNMAP_DMA ioctls (strace) per "
        "phase, map calls per GiB mapped, live DMA entries at the growth "
        "peak; type1 dma_entry_limit %s: GiB mappable at that density" %
        rb.fmt(res["entry_limit"], "%d"))
    cols = "%-16s" + "%13s" * len(PHASES) + "%10s%10s%9s%11s%8s"
    add(cols % ("case", *["%s map/un" % p[:5] for p in PHASES],
                "maps/GiB", "maps/GiB", "entries", "MiB/entry", "GiB at"))
    add(cols % ("", *[""] * len(PHASES), "init", "grow", "at peak", "",
                "limit"))
    for row in res["vfio"]:
        ph = row["phases"]
        add(cols % (
            row["name"], *["%d/%d" % (ph[p]["maps"], ph[p]["unmaps"])
                           for p in PHASES],
            rb.fmt(row["maps_per_gib_init"], "%.0f"),
            rb.fmt(row["maps_per_gib_grow"], "%.0f"),
            "%d" % row["entries_at_peak"],
            rb.fmt(row["gib_per_entry"] and row["gib_per_entry"] * 1024,
                   "%.1f"),
            rb.fmt(row["gib_capped_by_limit"], "%.0f")))
    out += res["errors"]
    return out


def main():
    args = parse_args()
    started = time.monotonic()
    assets = tblib.read_assets()
    why = tblib.missing_asset(dict(tblib.FIELDS), assets)
    if why:
        raise rb.BenchError("test bed: " + why)
    os.makedirs(args.out, exist_ok=True)
    work = os.path.join(args.out, "vfio")
    os.makedirs(work, exist_ok=True)
    builds = {"base": args.base_build, "series": args.series_build}
    bins = {name: rb.build_eal_cost(args.out, name, builds[name])
            for name in sorted({b for b, _ in args.modes})}
    initramfs = make_initramfs(bins, os.path.abspath(args.base_build), work)
    accel, accel_why = tblib.detect_accel(assets, work)
    scs = plan(args)
    rb.log("test bed: %d cases in one %s guest (%d warm-up + %d timed "
           "rounds of %s, then strace)" %
           (len(scs), accel, args.warmup, args.runs,
            ", ".join(line_name(*m) for m in args.modes)))
    cases, boot = run_guest(scs, assets, accel, initramfs, work)
    results, errors = {}, []
    for sc in scs:
        result, why = check(sc, cases.get(sc["name"]))
        if why:
            errors.append("FAILED %s: %s" % (sc["name"], why))
        else:
            results[sc["name"]] = result
    if not boot["booted"]:
        errors.append("FAILED guest did not boot: %s (%s)" %
                      (boot["qemu_out"][:200] or "no output", boot["log"]))
    limit = boot["entry_limit"]
    res = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "config": {"qemu": "7.2", "kernel": boot["kernel"],
                      "accel": accel, "accel_why": accel_why,
                      "iommu": "intel-iommu aw-bits 39",
                      "init_mib": args.init_mib, "grow_mib": args.grow_mib,
                      "runs": args.runs, "warmup": args.warmup,
                      "memlock": scs[0]["memlock"],
                      "modes": [line_name(*m) for m in args.modes],
                      "builds": builds,
                      "guest_seconds": round(boot["seconds"], 1)},
           "entry_limit": limit if limit else DEFAULT_ENTRY_LIMIT,
           "entry_limit_read": limit is not None,
           "growth": growth_rows(scs, results, args),
           "vfio": vfio_rows(scs, results, args,
                             limit if limit else DEFAULT_ENTRY_LIMIT),
           "errors": errors,
           "cases": [{"name": sc["name"], "argv": sc["eal"],
                      "build": sc["build"], "iova": sc["iova"],
                      "timed": sc["timed"], "trace": sc["trace_vfio"],
                      "result": results.get(sc["name"])} for sc in scs]}
    res["table"] = table(res)
    res["elapsed_s"] = round(time.monotonic() - started, 1)
    rb.log("\n".join(res["table"]))
    path = os.path.join(args.out, "vfio.json")
    rb.write_json(res, path)
    rb.log("\nresults: %s (guest %.0f s, %s)" %
           (os.path.relpath(path), boot["seconds"], os.path.relpath(
               boot["log"])))
    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except rb.BenchError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)
