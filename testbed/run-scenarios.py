#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run the test bed's scenarios (testbed/scenarios/*.toml) in QEMU guests
whose emulated NICs sit behind an emulated IOMMU, against DPDK build
directories, and print PASS / FAIL / SKIP per scenario and build.

A BUILD argument is checked against each scenario's expectation. The build
given with --base is checked against the outcomes recorded for that DPDK
base (--dpdk-base NAME) in bases/NAME/testbed-outcomes.txt instead: a base
failure is a recorded fact, a change in it is a failure. --record-base
rewrites that file from a base run. Scenarios listed in
bases/NAME/testbed-pending.txt (with the reason) are not checked against
the series build of that base: its series does not carry what they test
yet.

Scenarios sharing QEMU, kernel, IOMMU and NICs run in one guest boot.
Closes with `N passed, N failed, N skipped`; exits non-zero when anything
failed, or when a required scenario skipped.
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import time

import tblib

BOOT_ALLOWANCE = 90     # seconds for a boot to reach /init, under TCG


class Base:
    """The data of one DPDK base that concerns the test bed."""

    def __init__(self, name):
        self.name = name
        self.dir = os.path.join(tblib.TOP, 'bases', name)
        if not os.path.exists(os.path.join(self.dir, 'base.conf')):
            sys.exit(f'error: unknown base {name!r}: no '
                     f'bases/{name}/base.conf')
        self.record = os.path.join(self.dir, 'testbed-outcomes.txt')
        self.pending = read_pending(os.path.join(self.dir,
                                                 'testbed-pending.txt'))


def read_pending(path):
    """[(compiled regex, reason)] of 'REGEX | reason' lines."""
    pending = []
    if os.path.exists(path):
        with open(path) as f:
            for n, line in enumerate(f, 1):
                if line.startswith('#') or not line.strip():
                    continue
                regex, sep, reason = line.rstrip('\n').partition(' | ')
                try:
                    pending.append((re.compile(regex.strip()),
                                    reason.strip()))
                except re.error as e:
                    sys.exit(f'error: {path}:{n}: bad regex: {e}')
                if not sep or not reason.strip():
                    sys.exit(f'error: {path}:{n}: "REGEX | reason" '
                             'expected')
    return pending


def pending_reason(base, name):
    for regex, reason in base.pending:
        if regex.fullmatch(name):
            return reason
    return None


def read_record(base):
    """{name: (verdict, summary)} of the base's testbed-outcomes.txt."""
    record = {}
    if os.path.exists(base.record):
        with open(base.record) as f:
            for line in f:
                if line.startswith('#') or not line.strip():
                    continue
                name, verdict, summary = line.rstrip('\n').split(' | ', 2)
                record[name] = (verdict, summary)
    return record


def write_record(results, accel, base):
    lines = ['# Outcomes of the required scenarios on the pristine base '
             f'(bases/{base.name}), as facts.\n',
             '# Written by testbed/run-scenarios.py --record-base; '
             'compared on every base run.\n',
             '# name | verdict against the scenario\'s expectation | '
             'stable summary of what happened\n']
    merged = read_record(base)
    for r in results:
        if r['status'] in ('PASS', 'FAIL') and r['verdict']:
            merged[r['name']] = (r['verdict'], r['summary'])
    for name, (verdict, summary) in merged.items():
        lines.append(f'{name} | {verdict} | {summary}\n')
    with open(base.record + '.tmp', 'w') as f:
        f.writelines(lines)
    os.replace(base.record + '.tmp', base.record)
    print(f'== recorded {len(lines) - 3} base outcomes in '
          f'{os.path.relpath(base.record, tblib.TOP)} ({accel})')


def build_initramfs(build, kernel, work):
    dest = os.path.join(work, f'initramfs-{kernel}.cpio')
    r = subprocess.run([sys.executable,
                        os.path.join(tblib.HERE, 'make-initramfs.py'),
                        build, kernel, dest],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if r.returncode != 0:
        return None, r.stdout.strip().splitlines()[-1]
    return dest, None


def run_boot(scs, assets, accel, initramfs, work, index):
    """Boot once for SCS (same boot key); {name: case} and boot info."""
    prefix = os.path.join(work, f'boot{index}')
    tblib.boot_initrd(initramfs, tblib.boot_script(scs), prefix + '.cpio')
    log = prefix + '.log'
    argv, env = tblib.qemu_command(scs[0], assets, accel, prefix + '.cpio',
                                   log)
    timeout = BOOT_ALLOWANCE + sum(sc['limit'] + 15 for sc in scs)
    rc, secs, qemu_out = tblib.run_guest(argv, env, log, timeout)
    with open(log, errors='replace') as f:
        boot, cases = tblib.parse_console(f.read())
    boot['rc'], boot['seconds'], boot['log'] = rc, secs, log
    boot['qemu_out'] = qemu_out.strip()
    return boot, cases


def result_line(r):
    text = f'{r["status"]} {r["name"]} [{r["label"]}]: {r["reason"]}'
    return text


def run_build(build, label, scenarios, assets, accel, mode, base):
    """Run SCENARIOS against BUILD; a list of result dicts. MODE:
    'expect' (the scenarios' expectations), 'compare' (the base record)
    or 'record' (the base, to be recorded)."""
    record = read_record(base)
    is_base = mode != 'expect'
    work = os.path.join(tblib.TB, 'runs', label)
    os.makedirs(work, exist_ok=True)
    for old in glob.glob(os.path.join(work, 'boot*')):
        os.remove(old) if os.path.isfile(old) else None
    results, groups = [], {}
    for sc in scenarios:
        res = {'name': sc['name'], 'label': label, 'verdict': None,
               'summary': '', 'required': sc['required']}
        results.append(res)
        if is_base and not sc['base']:
            res.update(status='NONE', reason='')
            continue
        why = None if is_base else pending_reason(base, sc['name'])
        if why:
            res.update(status='PENDING', reason=why)
            continue
        why = tblib.missing_asset(sc, assets)
        if why:
            res.update(status='SKIP', reason=why)
            continue
        groups.setdefault(tblib.boot_key(sc), []).append((sc, res))
    initramfs = {}
    for index, (key, pairs) in enumerate(groups.items()):
        kernel = key[1]
        if kernel not in initramfs:
            initramfs[kernel] = build_initramfs(build, kernel, work)
        path, err = initramfs[kernel]
        if err:
            for sc, res in pairs:
                res.update(status='FAIL', reason='initramfs: ' + err)
            continue
        scs = [sc for sc, _ in pairs]
        boot, cases = run_boot(scs, assets, accel, path, work, index)
        rel = os.path.relpath(boot['log'], tblib.TOP)
        print(f'== boot {index}: QEMU {key[0]}, kernel {boot["kernel"]}, '
              f'{key[2]} aw-bits {key[3]}, {key[5]}'
              f'{", " + key[4] if key[4] else ""}: {len(scs)} case(s) in '
              f'{boot["seconds"]:.0f} s ({rel})', flush=True)
        hung = boot['rc'] is None
        if boot['setup']:
            print('   setup: ' + '; '.join(boot['setup']))
        if not boot['booted']:
            print('   guest did not boot: '
                  + (boot['qemu_out'][:300] or 'no output'))
        for sc, res in pairs:
            verdict, summary, detail = tblib.evaluate(sc, cases.get(
                sc['name']))
            if hung and not cases.get(sc['name'], {}).get('end'):
                summary = f'guest hung: QEMU killed ({summary})'
            res.update(verdict=verdict, summary=summary, detail=detail)
            judge(res, sc, mode, record)
            print('  ' + result_line(res), flush=True)
    return results


def judge(res, sc, mode, record):
    """Set status and reason: against the expectation, or for the base
    against its recorded outcome."""
    text = res['summary'] + (f' ({res["detail"]})' if res['detail'] else '')
    if mode == 'expect':
        res['status'] = res['verdict']
        expect = sc['expect'] if sc['expect'] != 'error' else \
            f'error /{sc["error"]}/ and rc != 0'
        res['reason'] = (f'expected {expect}: ' if res['verdict'] == 'FAIL'
                         else '') + text
        return
    if res['summary'].startswith('guest hung') or 'hung:' in res['summary']:
        res['status'], res['reason'] = 'FAIL', text
        return
    if mode == 'record':
        res['status'] = 'PASS'
        res['reason'] = f'recording {res["verdict"]}: {text}'
        return
    old = record.get(sc['name'])
    now = (res['verdict'], res['summary'])
    if old is None:
        res['status'] = 'FAIL'
        res['reason'] = (f'no recorded base outcome (now {now[0]}: {text}); '
                         'record it with --record-base')
    elif old == now:
        res['status'] = 'PASS'
        res['reason'] = f'base as recorded ({now[0]}): {text}'
    else:
        res['status'] = 'FAIL'
        res['reason'] = (f'base outcome changed: recorded {old[0]}: '
                         f'{old[1]}; now {now[0]}: {text}')


def write_report(results, accel, why, seconds, base):
    """out/testbed/report-BASE.txt (every result line, then a table of the
    scenarios against the builds)."""
    path = os.path.join(tblib.TB, f'report-{base.name}.txt')
    labels, table = [], {}
    for r in results:
        if r['label'] not in labels:
            labels.append(r['label'])
        verdict = f' ({r["verdict"]})' if '-base-' in r['label'] \
            and r['verdict'] else ''
        table.setdefault(r['name'], {})[r['label']] = r['status'] + verdict
    with open(path + '.tmp', 'w') as f:
        f.write(f'accel: {accel} ({why}); guest time {seconds:.0f} s\n')
        for r in results:
            f.write(result_line(r) + '\n')
        f.write('\n| scenario | ' + ' | '.join(labels) + ' |\n|'
                + ' --- |' * (len(labels) + 1) + '\n')
        for name, row in table.items():
            f.write(f'| {name} | '
                    + ' | '.join(row.get(l, '-') for l in labels) + ' |\n')
    os.replace(path + '.tmp', path)
    return path


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('builds', nargs='*', metavar='BUILD',
                    help='build directory checked against expectations')
    ap.add_argument('--base', metavar='BUILD',
                    help='base build directory, checked against the record')
    ap.add_argument('--dpdk-base', metavar='NAME',
                    default=os.environ.get('DPDK_BASE', 'main'),
                    help='the DPDK base the builds are of (bases/NAME; '
                    'default: $DPDK_BASE or main)')
    ap.add_argument('--record-base', action='store_true',
                    help='rewrite bases/NAME/testbed-outcomes.txt from the '
                    '--base run')
    ap.add_argument('--scenarios', action='append', metavar='TOML',
                    help='a scenario file; repeat for more (default: '
                    'testbed/scenarios/*.toml)')
    ap.add_argument('--only', metavar='REGEX',
                    help='run only the scenarios whose name matches')
    ap.add_argument('--required', action='store_true',
                    help='run only the required scenarios')
    args = ap.parse_args()
    if not args.builds and not args.base:
        ap.error('give at least one BUILD or --base BUILD')
    if args.record_base and not args.base:
        ap.error('--record-base needs --base BUILD')
    for b in args.builds + ([args.base] if args.base else []):
        if not os.path.isdir(b):
            sys.exit(f'error: build directory {b} does not exist: '
                     'build it first (make base / make series)')
    files = args.scenarios or sorted(
        glob.glob(os.path.join(tblib.HERE, 'scenarios', '*.toml')))
    try:
        scenarios = tblib.load_scenarios(files)
    except tblib.DataError as e:
        sys.exit(f'error: {e}')
    if args.only:
        try:
            only = re.compile(args.only)
        except re.error as e:
            sys.exit(f'error: --only "{args.only}" is not a regex: {e}')
        scenarios = [s for s in scenarios if only.search(s['name'])]
    if args.required:
        scenarios = [s for s in scenarios if s['required']]
    if not scenarios:
        sys.exit('error: no scenario selected: check --only / --scenarios')

    base = Base(args.dpdk_base)
    assets = tblib.read_assets()
    os.makedirs(os.path.join(tblib.TB, 'runs'), exist_ok=True)
    accel, why = 'tcg', 'no guest assets'
    if assets and 'KERNEL_6_1_IMAGE' in assets:
        probe_dir = os.path.join(tblib.TB, 'runs', 'probe')
        os.makedirs(probe_dir, exist_ok=True)
        first = args.base or args.builds[0]
        build_initramfs(os.path.abspath(first), '6.1', probe_dir)
        accel, why = tblib.detect_accel(assets, probe_dir)
    print(f'== accel: {accel} ({why})', flush=True)

    start = time.monotonic()
    results = []
    runs = ([(args.base, True)] if args.base else []) + \
        [(b, False) for b in args.builds]
    for build, is_base in runs:
        build = os.path.abspath(build)
        label = base.name + '-' + (os.path.basename(os.path.dirname(build))
                                   or build)
        mode = 'expect'
        if is_base:
            mode = 'record' if args.record_base else 'compare'
            label += '-' + mode
        print(f'== {build}: {len(scenarios)} scenario(s)', flush=True)
        done = run_build(build, label, scenarios, assets, accel, mode, base)
        results += done
        if mode == 'record':
            write_record(done, accel, base)
    seconds = time.monotonic() - start

    pending = [r for r in results if r['status'] == 'PENDING']
    for r in pending:
        print(result_line(r))
    if pending:
        print(f'== {len(pending)} scenario(s) not checked on the {base.name} '
              f'series: not ported yet (bases/{base.name}/'
              'testbed-pending.txt)')
    counted = [r for r in results if r['status'] not in ('NONE', 'PENDING')]
    skipped = [r for r in counted if r['status'] == 'SKIP']
    for r in skipped:
        print(result_line(r))
    report = write_report(counted, accel, why, seconds, base)
    print(f'== guest time {seconds:.0f} s ({accel}); report '
          f'{os.path.relpath(report, tblib.TOP)}')
    passed = sum(r['status'] == 'PASS' for r in counted)
    failed = sum(r['status'] == 'FAIL' for r in counted)
    print(f'{passed} passed, {failed} failed, {len(skipped)} skipped')
    required_skip = any(r['required'] for r in skipped)
    if required_skip:
        print('error: required scenarios skipped (see SKIP lines above)')
    sys.exit(1 if failed or required_skip else 0)


if __name__ == '__main__':
    main()
