# SPDX-License-Identifier: BSD-3-Clause
"""The test bed's shared parts: scenarios as data, the guest's QEMU command
line, the per-boot case script and the parsing of the guest's console.
Used by run-scenarios.py and demo.py."""

import os
import re
import shlex
import signal
import socket
import subprocess
import time
import tomllib

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get('OUT', os.path.join(TOP, 'out'))
TB = os.path.join(OUT, 'testbed')
HERE = os.path.join(TOP, 'testbed')

# PCI slots of the two NICs (the guest sees 0000:00:10.0 and 0000:00:11.0).
NIC_SLOTS = (0x10, 0x11)
NIC_BDFS = tuple(f'0000:00:{s:02x}.0' for s in NIC_SLOTS)
# A PCI device no DPDK driver takes (QEMU's pci-testdev), in every guest;
# device index 2 after the NICs.
SPARE_SLOT = 0x12
SPARE_BDF = f'0000:00:{SPARE_SLOT:02x}.0'
DEVICE_BDFS = NIC_BDFS + (SPARE_BDF,)
NIC_DEVICES = {
    'virtio-net': 'virtio-net-pci,disable-legacy=on,iommu_platform=on,'
                  'ats=on',
    'e1000e': 'e1000e',
}
IOMMUS = ('intel-iommu', 'virtio-iommu', 'none')
DRIVERS = ('vfio-pci', 'vfio-pci-root', 'uio_pci_generic', 'none')
PROGRAMS = {'testpmd': 'dpdk-testpmd', 'dpdk-test': 'dpdk-test',
            'guide': 'guide'}
# program = "guide": the procedure of the tree's Linux guide, its root
# commands ("# ") then its user commands ("$ "), with the guide's example
# devices replaced by the guest's NICs (make-initramfs.py writes them to
# /guide-root.sh and /guide-user.sh; guest-init.sh tb_guide runs them).
GUIDE_FILE = 'doc/guides/linux_gsg/enable_func.rst'
GUIDE_SECTION = 'Setting Up a User'
GUIDE_DEVICES = ('0000:01:00.0', '0000:01:00.1')
EXPECTS = ('traffic', 'test-ok', 'error')

# Every field of a scenario, with its default. A scenario file's
# [defaults] table overrides these for the file's scenarios.
FIELDS = {
    'name': None,
    'doc': '',
    'qemu': '7.2',             # 7.2 (bookworm) or 10 (bookworm-backports)
    'kernel': '6.1',           # 6.1 (bookworm) or 6.12 (bookworm-backports)
    'iommu': 'intel-iommu',    # intel-iommu, virtio-iommu or none
    'aw_bits': 39,             # intel-iommu: 39/48; virtio-iommu: 32..64
    'cmdline': '',             # extra guest kernel arguments (iommu=pt)
    'nic': 'virtio-net',       # virtio-net or e1000e (both NICs)
    'spare': 'none',           # driver of the spare device (index 2, no
                               # DPDK driver takes it); when bound, the
                               # case gives no -a: EAL scans everything
    'drivers': ['vfio-pci', 'vfio-pci'],  # per NIC; "none": unbound;
                               # "vfio-pci-root": group node not given
                               # to uid
    'allow': [0, 1],           # NICs (0, 1) given with -a at start; a
                               # bound NIC left out is there to hotplug
    'uid': 1000,
    'memlock': '1G',           # RLIMIT_MEMLOCK: bytes, K/M/G, unlimited
    'hugepages': 256,          # 2 MiB pages
    'program': 'testpmd',      # testpmd, dpdk-test or guide (the tree's
                               # Linux guide procedure, see GUIDE_FILE)
    'eal': [],                 # EAL arguments after -l/-n/-a
    'testpmd': ['--forward-mode=io', '--tx-first', '--stats-period', '1',
                '--total-num-mbufs=8192'],
    'autotest': '',            # dpdk-test: the DPDK_TEST name
    'commands': [],            # testpmd: commands run after init, before
                               # forwarding (--cmdline-file)
    'secondary': '',           # testpmd: an autotest run by a secondary
                               # dpdk-test while the primary forwards;
                               # forwarding must go on after it
    'dma_entry_limit': 0,      # vfio_iommu_type1 dma_entry_limit (VFIO
                               # maps per container) for the case; 0:
                               # the kernel's default
    'seconds': 5,              # testpmd: SIGINT this long after forwarding
                               # starts (a worker thread runs)
    'forward_wait': 0,         # testpmd: how long forwarding may take to
                               # start; 0: 10 s, or 40 s with commands
                               # (they run first: a reattach under TCG)
    'limit': 60,               # guest-side SIGKILL after this long
    'expect': 'traffic',       # traffic, test-ok or error
    'error': '',               # expect=error: regex of the error line
    'lines': [],               # regexes that must match the output
    'forbid': [],              # regexes that must not match the output
    'no_pagemap': False,       # assert /proc/*/pagemap is never opened
    'unopened': [],            # devices (0, 1: NICs, 2: spare) whose VFIO
                               # group node the program must never open
    'trace_vfio': False,       # count VFIO_IOMMU_(UN)MAP_DMA ioctls per
                               # phase (strace; bench/vfio-bench.py)
    'user_check': '',          # pass or fail: run usertools/dpdk-user-
                               # check.py first as the case's user, with
                               # the NICs and -m/--iova-mode/--in-memory of
                               # the case, expecting that verdict; its
                               # lines join the output ('': not run)
    'base': True,              # also run on the base, compare the record
    'required': True,          # in the required matrix (make check)
}

# Lines that characterise an outcome: they make the stable summary that
# the base's outcomes are recorded and compared with.
KEY_LINES = [
    r"EAL: Selected IOVA mode '\w+'",
    r"EAL: IOVA mode 'dense' instead of 'VA'",
    r"Cannot use IOVA as '\w+'[^\n]*",
    r"Cannot set up DMA remapping, error \d+ \([^)]*\)",
    r"EAL: Error - exiting with code: \d+",
    r"Cause: [^\n]*",
    r"No probed ethernet devices",
    r"Test OK",
    r"Test Failed",
    r"Test Skipped",
]
FAULT_LINES = [
    r'DMAR: \[DMA (Read|Write)[^\n]*',
    r'DMAR: DRHD: handling fault[^\n]*',
    r'PTE (Read|Write) access is not set',
    r'virtio_iommu[^\n]*fault[^\n]*',
    r'fault from EP \d+',
]
CRASH_LINES = [
    r'Kernel panic[^\n]*', r'BUG: [^\n]*', r'Oops: [^\n]*',
    r'general protection fault[^\n]*', r'segfault at [^\n]*',
]


class DataError(Exception):
    """A scenario file that is not valid; the message names the fix."""


def parse_size(text, where):
    if str(text) == 'unlimited':
        return 'unlimited'
    m = re.fullmatch(r'(\d+)([KMG]?)', str(text))
    if not m:
        raise DataError(f'{where}: memlock "{text}" is not a size '
                        '(bytes, or with K/M/G, or "unlimited")')
    return str(int(m.group(1)) << {'': 0, 'K': 10, 'M': 20,
                                   'G': 30}[m.group(2)])


# Fields whose TOML value may be a number or a string (both are read as
# text: qemu = 7.2, memlock = 1024).
TEXT_OR_NUMBER = ('qemu', 'kernel', 'memlock')


def type_problem(key, value):
    """Why VALUE cannot be field KEY (typed like its FIELDS default), or
    None."""
    default = FIELDS[key]
    if key in TEXT_OR_NUMBER:
        ok = isinstance(value, (str, int, float)) and \
            not isinstance(value, bool)
        return None if ok else 'must be a string or a number'
    if key == 'name' or isinstance(default, str):
        return None if isinstance(value, str) else 'must be a string'
    if isinstance(default, bool):
        return None if isinstance(value, bool) else 'must be true or false'
    if isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else 'must be a whole number'
    if isinstance(default, list):
        item = int if key in ('allow', 'unopened') else str
        if not isinstance(value, list) or not all(
                isinstance(v, item) and not isinstance(v, bool)
                for v in value):
            return ('must be a list of ' +
                    ('numbers' if item is int else 'strings'))
    return None


def check_scenario(sc, where):
    for key in sc:
        if key not in FIELDS:
            raise DataError(f'{where}: unknown field "{key}" (fields: '
                            + ', '.join(FIELDS) + ')')
    for key, value in sc.items():
        problem = type_problem(key, value)
        if problem:
            raise DataError(f'{where}: field "{key}" {problem}, not '
                            f'{value!r}')
    if not sc['name'] or not re.fullmatch(r'[\w.+-]+', sc['name']):
        raise DataError(f'{where}: name "{sc["name"]}" must be a non-empty '
                        'word of letters, digits, . + - _')
    choices = {'iommu': IOMMUS, 'nic': tuple(NIC_DEVICES),
               'program': tuple(PROGRAMS), 'expect': EXPECTS,
               'qemu': ('7.2', '10'), 'kernel': ('6.1', '6.12'),
               'user_check': ('', 'pass', 'fail')}
    for key, allowed in choices.items():
        if str(sc[key]) not in allowed:
            raise DataError(f'{where}: {key} "{sc[key]}" is not one of '
                            + ', '.join(allowed))
    if len(sc['drivers']) != 2 or any(d not in DRIVERS
                                      for d in sc['drivers']):
        raise DataError(f'{where}: drivers must list 2 of '
                        + ', '.join(DRIVERS))
    if sc['user_check'] and sc['base']:
        raise DataError(f'{where}: user_check needs base = false (the base '
                        'has no dpdk-user-check.py)')
    if sc['expect'] == 'error' and not sc['error']:
        raise DataError(f'{where}: expect = "error" needs error = "regex"')
    if sc['program'] == 'dpdk-test' and not sc['autotest']:
        raise DataError(f'{where}: program dpdk-test needs autotest')
    if sc['program'] == 'guide' and (sc['drivers'] != ['none', 'none'] or
                                     sc['eal'] or sc['user_check']):
        raise DataError(f'{where}: program guide binds the NICs and runs '
                        'its own commands: drivers = ["none", "none"], no '
                        'eal, no user_check')
    if sc['program'] != 'testpmd' and (sc['commands'] or sc['secondary']):
        raise DataError(f'{where}: commands and secondary are for program '
                        'testpmd')
    if not set(sc['allow']) <= {0, 1}:
        raise DataError(f'{where}: allow lists NICs by index: 0, 1')
    if not set(sc['unopened']) <= {0, 1, 2}:
        raise DataError(f'{where}: unopened lists devices by index: 0, 1 '
                        '(NICs), 2 (spare)')
    if sc['spare'] not in DRIVERS:
        raise DataError(f'{where}: spare must be one of ' + ', '.join(DRIVERS))
    if sc['unopened'] and sc['trace_vfio']:
        raise DataError(f'{where}: unopened traces openat, trace_vfio the '
                        'VFIO ioctls: one or the other')
    if not isinstance(sc['dma_entry_limit'], int) or \
            sc['dma_entry_limit'] < 0:
        raise DataError(f'{where}: dma_entry_limit must be a count (0: the '
                        'kernel default)')
    for key in ('lines', 'forbid', 'error'):
        for pat in sc[key] if key != 'error' else [sc[key]]:
            try:
                re.compile(pat)
            except re.error as e:
                raise DataError(f'{where}: {key} "{pat}" is not a regex: {e}')
    if not sc['forward_wait']:
        sc['forward_wait'] = 40 if sc['commands'] else 10
    if sc['forward_wait'] + sc['seconds'] >= sc['limit']:
        raise DataError(f'{where}: forward_wait + seconds must stay under '
                        f'limit ({sc["limit"]} s)')
    sc['memlock'] = parse_size(sc['memlock'], where)
    sc['qemu'], sc['kernel'] = str(sc['qemu']), str(sc['kernel'])


def guide_commands(src_dir):
    """(root commands, user commands) of GUIDE_SECTION in the tree's
    GUIDE_FILE, in order; None if the tree's guide has no such section."""
    path = os.path.join(src_dir, GUIDE_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        lines = f.read().splitlines()
    try:
        start = lines.index(GUIDE_SECTION) + 2
    except ValueError:
        return None
    root, user = [], []
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if i + 1 < len(lines) and re.fullmatch(r'([~=-])\1+',
                                               lines[i + 1].strip()):
            break  # the next section's title
        for prompt, cmds in (('# ', root), ('$ ', user)):
            if line.startswith(prompt):
                cmd = line[len(prompt):]
                for guide_dev, nic in zip(GUIDE_DEVICES, NIC_BDFS):
                    cmd = cmd.replace(guide_dev, nic)
                cmds.append(cmd)
    return root, user


def load_scenarios(paths):
    """Scenarios of the TOML files PATHS, in order, defaults applied."""
    scenarios, names = [], set()
    for path in paths:
        try:
            with open(path, 'rb') as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise DataError(f'{path}: {e}')
        rel = os.path.relpath(path, TOP)
        for table in data:
            if table not in ('defaults', 'scenario'):
                raise DataError(f'{rel}: unknown table "{table}" (tables: '
                                '[defaults], [[scenario]])')
        if not isinstance(data.get('scenario', []), list):
            raise DataError(f'{rel}: write each scenario as [[scenario]]')
        if not data.get('scenario'):
            raise DataError(f'{rel}: no [[scenario]] in the file')
        defaults = dict(FIELDS)
        defaults.update(data.get('defaults', {}))
        for i, entry in enumerate(data['scenario']):
            sc = dict(defaults)
            sc.update(entry)
            where = f'{rel} scenario #{i + 1}'
            if isinstance(sc.get('name'), str):
                where += f' ("{sc["name"]}")'
            check_scenario(sc, where)
            if sc['name'] in names:
                raise DataError(f'{where}: duplicate name "{sc["name"]}"')
            names.add(sc['name'])
            sc['file'] = os.path.relpath(path, TOP)
            scenarios.append(sc)
    return scenarios


def read_assets():
    path = os.path.join(TB, 'assets.conf')
    assets = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                k, v = line.rstrip('\n').split('=', 1)
                assets[k] = v.strip('"')
    return assets


def missing_asset(sc, assets):
    """Why the assets SC needs are not there, or None."""
    if not assets:
        return 'no guest assets: run testbed/fetch-assets.py'
    for key in ('KERNEL_' + sc['kernel'].replace('.', '_'),
                'QEMU_' + sc['qemu'].replace('.', '_'), 'BUSYBOX'):
        if key + '_MISSING' in assets:
            return f'{key}: {assets[key + "_MISSING"]}'
    return None


def boot_key(sc):
    """Scenarios with equal keys share one guest boot."""
    return (sc['qemu'], sc['kernel'], sc['iommu'], sc['aw_bits'],
            sc['cmdline'], sc['nic'])


def free_udp_ports(count):
    socks, ports = [], []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('127.0.0.1', 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def qemu_command(sc, assets, accel, initrd, log):
    """(argv, env) of the guest for SC's boot key."""
    env = dict(os.environ)
    if sc['qemu'] == '10':
        argv = [assets['QEMU_10_BIN']]
        for d in assets['QEMU_10_DATADIRS'].split(':'):
            argv += ['-L', d]
        env['LD_LIBRARY_PATH'] = assets['QEMU_10_LIBDIR']
    else:
        argv = [assets['QEMU_7_2_BIN']]
    kern = 'KERNEL_' + sc['kernel'].replace('.', '_')
    cmdline = ['console=ttyS0', 'loglevel=1', 'panic=-1']
    machine = 'q35'
    if sc['iommu'] == 'intel-iommu':
        machine += ',kernel-irqchip=split'
        cmdline.append('intel_iommu=on')
    cmdline += sc['cmdline'].split()
    if accel == 'kvm':
        argv += ['-accel', 'kvm', '-cpu', 'host']
    else:
        argv += ['-accel', 'tcg,thread=multi', '-cpu', 'max']
    argv += ['-machine', machine, '-smp', '2', '-m', '2048',
             '-display', 'none', '-monitor', 'none', '-no-reboot',
             '-serial', 'file:' + log,
             '-kernel', assets[kern + '_IMAGE'], '-initrd', initrd,
             '-append', ' '.join(cmdline)]
    if sc['iommu'] == 'intel-iommu':
        argv += ['-device',
                 f'intel-iommu,intremap=on,aw-bits={sc["aw_bits"]}']
    elif sc['iommu'] == 'virtio-iommu':
        argv += ['-device', f'virtio-iommu-pci,aw-bits={sc["aw_bits"]}']
    a, b = free_udp_ports(2)
    for i, (local, peer) in enumerate(((a, b), (b, a))):
        argv += ['-netdev', f'socket,id=n{i},udp=127.0.0.1:{peer},'
                 f'localaddr=127.0.0.1:{local}',
                 '-device', f'{NIC_DEVICES[sc["nic"]]},netdev=n{i},'
                 f'addr=0x{NIC_SLOTS[i]:x},romfile=']
    argv += ['-device', f'pci-testdev,addr=0x{SPARE_SLOT:x}']
    return argv, env


def case_script(sc):
    """The guest shell lines that run SC (see guest-init.sh tb_case)."""
    bound = [(i, bdf) for i, (bdf, drv) in enumerate(zip(NIC_BDFS,
                                                         sc['drivers']))
             if drv != 'none']
    allowed = [bdf for i, bdf in bound if i in sc['allow']]
    # -a for the NICs used from the start; with none, -b keeps the bound
    # ones (left for hotplug) from the probe; with a bound spare device,
    # neither (every device is scanned)
    if sc['spare'] != 'none':
        devargs = []
    else:
        devargs = [w for bdf in allowed for w in ('-a', bdf)] or \
            [w for _, bdf in bound for w in ('-b', bdf)]
    # Other programs in the initramfs (make-initramfs.py --add) by name.
    prog = PROGRAMS.get(sc['program'], sc['program'])
    args = [prog, '-l', '0-1', '-n', '1'] + devargs + sc['eal']
    if sc['program'] == 'guide':
        args = [prog]
    env = ''
    stop = 0
    secondary, secondary_env = '', ''
    q = shlex.quote
    lines = ''
    if sc['program'] == 'guide':
        stop = sc['seconds']
    elif sc['program'] == 'testpmd':
        args += ['--'] + sc['testpmd']
        stop = sc['seconds']
        if sc['commands']:
            cmds = f'/tmp/{sc["name"]}.cmds'
            words = ' '.join(q(c) for c in sc['commands'])
            lines += f'printf "%s\\n" {words} > {cmds}\n'
            args.append('--cmdline-file=' + cmds)
        if sc['secondary']:
            secondary = ' '.join(['autotest-secondary', '-l', '0', '-n',
                                  '1', '--proc-type=secondary'] + devargs)
            secondary_env = 'DPDK_TEST=' + sc['secondary']
    else:
        env = 'DPDK_TEST=' + sc['autotest']
    bind = ' '.join(f'{bdf}={drv}' for bdf, drv in
                    zip(DEVICE_BDFS, sc['drivers'] + [sc['spare']]))
    check = ' '.join(user_check_args(sc, allowed)) if sc['user_check'] else ''

    return lines + (
        f'TB_UID={sc["uid"]} TB_MEMLOCK={sc["memlock"]} '
        f'TB_LIMIT={sc["limit"]} TB_STOP={stop} '
        f'TB_WAIT={sc["forward_wait"]} '
        f'TB_STRACE={strace_mode(sc)} '
        f'TB_ENV={q(env)} TB_HUGEPAGES={sc["hugepages"]} '
        f'TB_BIND={q(bind)} TB_DMA_LIMIT={sc["dma_entry_limit"]} '
        f'TB_SECONDARY={q(secondary)} TB_SECONDARY_ENV={q(secondary_env)} '
        f'TB_USERCHECK={q(check)}\n'
        f'tb_case {sc["name"]} {" ".join(q(a) for a in args)}\n')


# EAL options dpdk-user-check.py takes, with whether they take a value.
USER_CHECK_EAL = {'-m': True, '--iova-mode': True, '--huge-dir': True,
                  '--in-memory': False}


def user_check_args(sc, allowed):
    """dpdk-user-check.py's arguments for SC: the EAL options it knows
    (both the "--opt value" and "--opt=value" forms) and the NICs."""
    args, eal = [], list(sc['eal'])
    while eal:
        opt, _, value = eal.pop(0).partition('=')
        if opt not in USER_CHECK_EAL:
            continue
        args.append(opt)
        if USER_CHECK_EAL[opt]:
            args.append(value or (eal.pop(0) if eal else ''))
    return args + allowed


def strace_mode(sc):
    """guest-init.sh TB_STRACE: vfio (ioctls), 1 (openat) or 0."""
    if sc.get('trace_vfio'):
        return 'vfio'
    return 1 if sc['no_pagemap'] or sc['unopened'] else 0


def boot_script(scs):
    return f'tb_modules {scs[0]["iommu"]}\n' + ''.join(
        case_script(sc) for sc in scs)


def boot_initrd(base_cpio, script, dest):
    """BASE_CPIO with /cases.sh appended (the kernel reads concatenated
    newc archives)."""
    stage = dest + '.d'
    os.makedirs(stage, exist_ok=True)
    with open(os.path.join(stage, 'cases.sh'), 'w') as f:
        f.write(script)
    with open(dest + '.tmp', 'wb') as out:
        with open(base_cpio, 'rb') as f:
            while chunk := f.read(1 << 20):
                out.write(chunk)
        subprocess.run(['cpio', '--quiet', '-o', '-H', 'newc', '-R', '0:0'],
                       cwd=stage, input=b'cases.sh\n', stdout=out,
                       check=True)
    os.replace(dest + '.tmp', dest)


def run_guest(argv, env, log, timeout, follow=None):
    """Run QEMU until it exits or TIMEOUT seconds pass (then kill it).
    FOLLOW(line) sees the console live. Returns (rc or None, seconds)."""
    start = time.monotonic()
    open(log, 'w').close()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    pos, rc = 0, None
    try:
        while True:
            rc = proc.poll()
            if follow:
                pos = follow_log(log, pos, follow)
            if rc is not None:
                break
            if time.monotonic() - start > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                rc = None
                break
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if follow:
        follow_log(log, pos, follow)
    qemu_out = proc.stdout.read().decode(errors='replace')
    return rc, time.monotonic() - start, qemu_out


def follow_log(log, pos, follow):
    with open(log, 'rb') as f:
        f.seek(pos)
        data = f.read()
    end = data.rfind(b'\n') + 1
    for line in data[:end].decode(errors='replace').splitlines():
        follow(line.replace('\r', ''))
    return pos + end


def parse_console(text):
    """{case name: {'output', 'rc', 'timeout', 'dmesg', 'pagemap',
    'setup'}} from the guest's console, plus the boot-level lines."""
    cases, cur, section = {}, None, None
    boot = {'booted': False, 'done': False, 'setup': [], 'kernel': ''}
    for line in text.replace('\r', '').splitlines():
        if not line.startswith('@@TB '):
            if cur is not None and section in ('output', 'dmesg'):
                cur[section].append(line)
            continue
        word, _, rest = line[5:].partition(' ')
        if word == 'BOOTED':
            boot['booted'] = True
        elif word == 'DONE':
            boot['done'] = True
        elif word == 'KERNEL':
            boot['kernel'] = rest
        elif word == 'BEGIN':
            cur = cases[rest] = {'output': [], 'dmesg': [], 'rc': None,
                                 'timeout': False, 'pagemap': [],
                                 'setup': [], 'end': False, 'openat': None,
                                 'vfio': [], 'secondary_rc': None,
                                 'after_secondary': None,
                                 'user_check_rc': None,
                                 'forwarding': '', 'vfio_open': [],
                                 'groups': {}}
            section = None
        elif cur is None:
            if word == 'SETUP-FAIL':
                boot['setup'].append(rest)
        elif word == 'SETUP-FAIL':
            cur['setup'].append(rest)
        elif word in ('OUTPUT', 'USERCHECK'):
            section = 'output'
        elif word == 'USERCHECK-RC':
            cur['user_check_rc'] = int(rest)
            section = None
        elif word == 'RC':
            cur['rc'] = int(rest)
            section = None
        elif word == 'SECONDARY-RC':
            cur['secondary_rc'] = int(rest)
            cur['after_secondary'] = len(cur['output'])
        elif word == 'TIMEOUT':
            cur['timeout'] = True
        elif word == 'FORWARDING':
            cur['forwarding'] = rest
        elif word == 'DMESG':
            section = 'dmesg'
        elif word == 'OPENAT':
            cur['openat'] = int(rest or 0)
            section = None
        elif word == 'PAGEMAP':
            cur['pagemap'].append(rest)
        elif word == 'VFIO-OPEN':
            cur['vfio_open'].append(rest)
        elif word == 'GROUP':
            bdf, _, group = rest.partition(' ')
            cur['groups'][bdf] = group
        elif word == 'VFIO':
            cur['vfio'].append(rest)
            section = None
        elif word == 'END':
            cur['end'] = True
            cur, section = None, None
    return boot, cases


def normalise(line):
    """A line as recorded: addresses and the faulting device (whichever
    NIC faults first) vary from run to run."""
    line = re.sub(r'0x[0-9a-fA-F]+', '0x?', line)
    line = re.sub(r'device \[[0-9a-fA-F:.]+\]', 'device [?]', line)
    return ' '.join(line.split())


def port_blocks(output, title, counters):
    """{port: [counters, ...]} from testpmd's "TITLE for port N" blocks,
    in order: the groups of the regex COUNTERS on the block's first line
    that matches it."""
    blocks, cur = {}, None
    for line in output:
        m = re.search(title + r' for port (\d+)', line)
        if m:
            cur = int(m.group(1))
            continue
        m = re.search(counters, line)
        if m and cur is not None:
            blocks.setdefault(cur, []).append(tuple(int(g)
                                                    for g in m.groups()))
            cur = None
    return blocks


def port_rx(output):
    """(RX-packets, RX-dropped, RX-total) per port from testpmd's closing
    "Forward statistics" blocks."""
    blocks = port_blocks(output, 'Forward statistics',
                         r'RX-packets: (\d+)\s+RX-dropped: (\d+)\s+'
                         r'RX-total: (\d+)')
    return {port: b[-1] for port, b in blocks.items()}


def nic_rx(output):
    """{port: [RX-packets, ...]} from testpmd's periodic "NIC statistics"
    blocks, in order."""
    blocks = port_blocks(output, 'NIC statistics',
                         r'RX-packets: (\d+)\s+RX-missed:')
    return {port: [c[0] for c in b] for port, b in blocks.items()}


def unopened_problems(sc, case):
    """The devices of SC's unopened whose VFIO group node the program
    opened (or that the case could not tell)."""
    if not sc['unopened']:
        return []
    if case['openat'] is None:
        return ['no strace record of openat']
    problems = []
    for i in sc['unopened']:
        bdf = DEVICE_BDFS[i]
        group = case['groups'].get(bdf)
        if not group:
            problems.append(f'{bdf} has no IOMMU group')
        elif f'/dev/vfio/{group}' in case['vfio_open']:
            problems.append(f'group {group} of {bdf} opened')
    return problems


def secondary_problems(case):
    """What went wrong with a case's secondary: it must end with Test OK,
    and every port must still receive in the primary's periodic stats
    after it ended."""
    rc = case['secondary_rc']
    if rc is None:
        return ['secondary did not run (the primary never forwarded)']
    problems = []
    if rc != 0 or not any('Test OK' in line for line in case['output']):
        problems.append(f'secondary failed (rc={rc})')
    after = nic_rx(case['output'][case['after_secondary']:])
    for port in sorted(nic_rx(case['output'])):
        rx = after.get(port, [])
        if len(rx) < 2 or rx[-1] <= rx[0]:
            problems.append(f'port {port}: no RX after the secondary ended '
                            f'(samples {rx})')
    return problems


def user_check_problems(sc, case):
    """The setup check's verdict against the one SC expects."""
    rc = case['user_check_rc']
    if rc is None:
        return ['dpdk-user-check.py did not run']
    want = 0 if sc['user_check'] == 'pass' else 1
    if rc != want:
        return [f'dpdk-user-check.py exit {rc}, expected {want} '
                f'({sc["user_check"]})']
    return []


def output_problems(sc, out):
    """SC's lines missing from OUT and forbidden lines found in it."""
    problems = [f'no line matching "{pat}"' for pat in sc['lines']
                if not re.search(pat, out)]
    for pat in sc['forbid']:
        m = re.search(pat, out)
        if m:
            problems.append('forbidden line: ' + normalise(m.group(0)))
    return problems


def evaluate(sc, case):
    """(verdict, summary, detail): verdict PASS or FAIL against SC's
    expectation; summary is stable across runs (the base record);
    detail has the counters."""
    if case is None:
        return 'FAIL', 'guest hung or crashed before the case ran', ''
    if not case['end']:
        return 'FAIL', 'guest hung or crashed during the case', ''
    if case['setup']:
        return 'FAIL', 'guest setup failed: ' + '; '.join(case['setup']), ''
    out = '\n'.join(case['output'])
    dmesg = '\n'.join(case['dmesg'])
    facts = [f'rc={case["rc"]}']
    seen = []
    for pat in KEY_LINES:
        for m in re.finditer(pat, out):
            key = normalise(m.group(0))
            if key not in seen:
                seen.append(key)
    facts += seen
    problems = []
    if case['timeout']:
        problems.append(f'hung: killed after {sc["limit"]} s')
    for pat in FAULT_LINES:
        m = re.search(pat, dmesg)
        if m:
            problems.append('IOMMU fault: ' + normalise(m.group(0)))
            break
    for pat in CRASH_LINES:
        m = re.search(pat, dmesg + '\n' + out)
        if m:
            problems.append('crash: ' + normalise(m.group(0)))
            break
    # The shell reports death by signal N as 128 + N (255 is exit(-1)).
    if case['rc'] is not None and 128 < case['rc'] < 160 \
            and not case['timeout']:
        problems.append(f'killed by signal {case["rc"] - 128}')
    detail = ''
    ports = port_rx(case['output'])
    if sc['program'] in ('testpmd', 'guide'):
        with_rx = sorted(p for p, (rx, _, _) in ports.items() if rx > 0)
        facts.append(f'ports with RX: {len(with_rx)} of {len(ports)}')
        detail = ', '.join(f'port {p} RX {rx} dropped {dr}'
                           for p, (rx, dr, _) in sorted(ports.items()))
        if sc['expect'] == 'traffic' and \
                case['forwarding'].startswith('not'):
            detail = ', '.join(filter(None, [
                detail, 'forwarding ' + case['forwarding']]))
        for p, (rx, dr, total) in sorted(ports.items()):
            if rx + dr != total:
                problems.append(f'port {p}: RX-packets {rx} + RX-dropped '
                                f'{dr} != RX-total {total}')
    problems += output_problems(sc, out)
    if sc['user_check']:
        problems += user_check_problems(sc, case)
    if sc['secondary']:
        facts.append(f'secondary rc={case["secondary_rc"]}')
        problems += secondary_problems(case)
    if sc['no_pagemap']:
        if case['openat'] is None:
            problems.append('no strace record of openat')
        elif case['pagemap']:
            problems.append('pagemap opened')
            detail = ', '.join(filter(None, [detail, case['pagemap'][0]]))
    problems += unopened_problems(sc, case)
    summary = '; '.join(facts + problems)
    if problems:
        return 'FAIL', summary, detail
    if sc['expect'] == 'traffic':
        if case['rc'] != 0:
            return 'FAIL', summary, detail
        if len(ports) < 2 or not all(p[0] > 0 for p in ports.values()):
            return 'FAIL', summary, detail
    elif sc['expect'] == 'test-ok':
        if case['rc'] != 0 or 'Test OK' not in out:
            return 'FAIL', summary, detail
    else:
        if case['rc'] == 0 or not re.search(sc['error'], out):
            return 'FAIL', summary, detail
    return 'PASS', summary, detail


def detect_accel(assets, log_dir):
    """'kvm' when a KVM guest boots to /init here, else 'tcg'; and why."""
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        return 'tcg', '/dev/kvm is not usable'
    cache = os.path.join(TB, 'accel')
    if os.path.exists(cache):
        with open(cache) as f:
            accel, _, why = f.read().strip().partition(' ')
            return accel, why + ' (cached in out/testbed/accel)'
    probe = os.path.join(log_dir, 'kvm-probe')
    script = 'echo "@@TB PROBE"\n'
    initrd = probe + '.cpio'
    boot_initrd(os.path.join(log_dir, 'initramfs-6.1.cpio'), script, initrd)
    sc = dict(FIELDS, name='probe', iommu='none')
    argv, env = qemu_command(sc, assets, 'kvm', initrd, probe + '.log')
    rc, secs, qemu_out = run_guest(argv, env, probe + '.log', 20)
    with open(probe + '.log', errors='replace') as f:
        ok = '@@TB PROBE' in f.read()
    if ok:
        accel, why = 'kvm', f'a KVM guest booted in {secs:.1f} s'
    else:
        first = (qemu_out.strip().splitlines() or ['no console output'])[0]
        state = 'timed out' if rc is None else f'rc {rc}'
        accel, why = 'tcg', f'-accel kvm does not work here ({state}: ' \
            f'{first[:120]})'
    with open(cache + '.tmp', 'w') as f:
        f.write(f'{accel} {why}\n')
    os.replace(cache + '.tmp', cache)
    return accel, why
