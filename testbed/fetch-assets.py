#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Fetch the test bed's guest assets (kernels, busybox, QEMU 10) as Debian
packages with `apt-get download`, unpack them with `dpkg-deb -x` and write
out/testbed/assets.conf, which the initramfs builder and the scenario runner
read.

The packages named in testbed/versions.conf are resolved at fetch time to the
newest matching version through a private apt configuration under
out/testbed/apt (the machine's Debian sources plus the backports suite): the
machine's own apt setup is never changed. The versions used are recorded in
out/testbed/versions.used; .debs are cached in out/testbed/debs and reused
while the resolved version stays the same. Without network the cached assets
of the last fetch are used.

An asset that cannot be had is recorded as missing with the reason; the
scenarios that need it SKIP with that reason.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get('OUT', os.path.join(TOP, 'out'))
TB = os.path.join(OUT, 'testbed')
APT = os.path.join(TB, 'apt')
DEBS = os.path.join(TB, 'debs')
ASSETS = os.path.join(TB, 'assets')
ARCH = 'amd64'


class Missing(Exception):
    """An asset that cannot be fetched; the message says why."""


def die(msg):
    print('error: ' + msg, file=sys.stderr)
    sys.exit(1)


def note(msg):
    print('== ' + msg, flush=True)


def read_conf(path):
    """KEY=VALUE lines (shell syntax without expansions) into a dict."""
    conf = {}
    with open(path) as f:
        for num, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            if '=' not in line:
                die(f'{path}:{num}: expected KEY=VALUE, got "{line}"')
            key, val = line.split('=', 1)
            conf[key.strip()] = val.strip().strip('"')
    return conf


def write_atomic(path, text):
    with open(path + '.tmp', 'w') as f:
        f.write(text)
    os.replace(path + '.tmp', path)


def system_deb_stanzas(suite):
    """The machine's binary Debian sources for SUITE*, as deb822 stanzas,
    and the URI of the main archive (the one serving SUITE itself)."""
    stanzas, archive = [], None
    files = sorted(glob.glob('/etc/apt/sources.list.d/*.sources'))
    for path in files:
        with open(path) as f:
            for block in f.read().split('\n\n'):
                fields = {}
                for line in block.splitlines():
                    if ':' in line and not line.startswith(('#', ' ')):
                        k, v = line.split(':', 1)
                        fields[k.strip()] = v.strip()
                suites = fields.get('Suites', '').split()
                if 'deb' not in fields.get('Types', '').split():
                    continue
                if not any(s.startswith(suite) for s in suites):
                    continue
                fields['Types'] = 'deb'
                stanzas.append(fields)
                if suite in suites and archive is None:
                    archive = fields
    lists = ['/etc/apt/sources.list'] + sorted(
        glob.glob('/etc/apt/sources.list.d/*.list'))
    for path in lists:
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                words = line.split('#')[0].split()
                if len(words) < 4 or words[0] != 'deb':
                    continue
                opts = []
                if words[1].startswith('['):
                    while not words[1].endswith(']'):
                        opts.append(words.pop(1))
                    opts.append(words.pop(1))
                if not words[2].startswith(suite):
                    continue
                fields = {'Types': 'deb', 'URIs': words[1],
                          'Suites': words[2],
                          'Components': ' '.join(words[3:])}
                stanzas.append(fields)
                if words[2] == suite and archive is None:
                    archive = fields
    return stanzas, archive


class Apt:
    """apt-get / apt-cache with a private source list and state."""

    def __init__(self, suite, backports):
        self.opts = [
            '-o', 'Dir::Etc::sourcelist=' + os.path.join(APT, 'sources'),
            '-o', 'Dir::Etc::sourceparts=' + os.path.join(APT, 'parts'),
            '-o', 'Dir::State::Lists=' + os.path.join(APT, 'lists'),
            '-o', 'Dir::Cache=' + os.path.join(APT, 'cache'),
            '-o', 'Debug::NoLocking=1',
        ]
        self.suite = suite
        self.backports = backports

    def setup(self):
        stanzas, archive = system_deb_stanzas(self.suite)
        if archive is None:
            raise Missing(f'no Debian "{self.suite}" source in /etc/apt: '
                          'add the Debian archive to apt\'s sources')
        bp = dict(archive)
        bp['Suites'] = self.backports
        bp['Components'] = 'main'
        text = '\n'.join(''.join(f'{k}: {v}\n' for k, v in s.items())
                         for s in stanzas + [bp])
        for d in ('parts', 'lists/partial', 'cache/archives/partial'):
            os.makedirs(os.path.join(APT, d), exist_ok=True)
        # apt tells a deb822 list from its file name.
        write_atomic(os.path.join(APT, 'sources'), '')
        write_atomic(os.path.join(APT, 'parts', 'testbed.sources'), text)

    def update(self):
        r = subprocess.run(['apt-get', '-qq'] + self.opts + ['update'],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        return r.returncode == 0, r.stdout.strip()

    def show(self, pkg, suite):
        """(version, depends) of PKG's candidate, or of its newest version
        in SUITE; None when there is none."""
        name = f'{pkg}/{suite}' if suite else pkg
        r = subprocess.run(['apt-cache'] + self.opts +
                           ['show', '--no-all-versions', name],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True)
        if r.returncode != 0:
            return None
        fields = {}
        for line in r.stdout.splitlines():
            if not line.strip():
                break
            if ':' in line and not line.startswith(' '):
                k, v = line.split(':', 1)
                fields[k] = v.strip()
        if 'Version' not in fields:
            return None
        return fields['Version'], fields.get('Depends', '')

    def download(self, pkg, version):
        """The cached .deb of PKG=VERSION, downloading it when absent."""
        os.makedirs(DEBS, exist_ok=True)
        deb = cached_deb(pkg, version)
        if deb:
            return deb
        tmp = os.path.join(DEBS, 'dl.tmp')
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        r = subprocess.run(['apt-get', '-qq'] + self.opts +
                           ['download', f'{pkg}={version}'], cwd=tmp,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        got = glob.glob(os.path.join(tmp, '*.deb'))
        if r.returncode != 0 or len(got) != 1:
            shutil.rmtree(tmp, ignore_errors=True)
            last = (r.stdout.strip().splitlines() or ['no .deb'])[-1]
            raise Missing(f'apt-get download {pkg}={version} failed: {last}')
        dest = os.path.join(DEBS, os.path.basename(got[0]))
        os.replace(got[0], dest)
        shutil.rmtree(tmp, ignore_errors=True)
        return dest


def deb_field(deb, field):
    return subprocess.run(['dpkg-deb', '-f', deb, field], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip()


def cached_deb(pkg, version):
    for deb in glob.glob(os.path.join(DEBS, f'{pkg}_*.deb')):
        if deb_field(deb, 'Version') == version:
            return deb
    return None


def resolve(apt, pkg, suite, prefix=''):
    """Newest PKG in SUITE (or apt's candidate); falls back to the
    candidate when SUITE does not carry PKG."""
    got = apt.show(pkg, suite) or (suite and apt.show(pkg, ''))
    if not got:
        raise Missing(f'no package {pkg} in {suite or "the candidates"}')
    version, depends = got
    upstream = version.split(':', 1)[-1]
    if prefix and not upstream.startswith(prefix):
        raise Missing(f'{pkg} resolves to {version}, not {prefix}*: '
                      'update testbed/versions.conf')
    return version, depends


def unpack(name, debs):
    """Unpack DEBS into assets/NAME (atomically) and return its path."""
    dest = os.path.join(ASSETS, name)
    stamp = os.path.join(dest, '.debs')
    wanted = ''.join(os.path.basename(d) + '\n' for d in debs)
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == wanted:
                return dest
    tmp = dest + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for deb in debs:
        subprocess.run(['dpkg-deb', '-x', deb, tmp], check=True)
    with open(os.path.join(tmp, '.debs'), 'w') as f:
        f.write(wanted)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest


def fetch_kernel(apt, conf, key, used):
    """A cloud kernel: the meta package's dependency, "-unsigned"."""
    meta, suite = conf[key + '_META'], conf.get(key + '_SUITE', '')
    version, depends = resolve(apt, meta, suite, conf.get(key + '_PREFIX'))
    image = depends.split(',')[0].split()[0]
    if not image.startswith('linux-image-'):
        raise Missing(f'{meta} {version} depends on "{image}", '
                      'not a linux-image package')
    pkg = image + '-unsigned'
    deb = apt.download(pkg, version)
    used.append((key, pkg, version))
    root = unpack(key.lower(), [deb])
    mods = glob.glob(os.path.join(root, 'lib/modules/*'))
    images = glob.glob(os.path.join(root, 'boot/vmlinuz-*'))
    if len(mods) != 1 or len(images) != 1:
        raise Missing(f'{deb} has no single boot/vmlinuz-* and lib/modules/*')
    return {key + '_IMAGE': images[0], key + '_MODULES': mods[0],
            key + '_RELEASE': os.path.basename(mods[0])}


def fetch_busybox(apt, conf, used):
    pkg = conf['BUSYBOX_PKG']
    version, _ = resolve(apt, pkg, conf.get('BUSYBOX_SUITE', ''))
    deb = apt.download(pkg, version)
    used.append(('BUSYBOX', pkg, version))
    root = unpack('busybox', [deb])
    path = os.path.join(root, 'bin/busybox')
    if not os.path.isfile(path):
        raise Missing(f'{deb} has no bin/busybox')
    return {'BUSYBOX': path}


def missing_libs(binary, libdir):
    env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    r = subprocess.run(['ldd', binary], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return [line.split()[0] for line in r.stdout.splitlines()
            if 'not found' in line]


def fetch_qemu10(apt, conf, used):
    suite = conf['QEMU_10_SUITE']
    debs = []
    for i, pkg in enumerate(conf['QEMU_10_PKGS'].split()):
        version, _ = resolve(apt, pkg, suite,
                             conf['QEMU_10_PREFIX'] if i == 0 else '')
        debs.append(apt.download(pkg, version))
        used.append(('QEMU_10', pkg, version))
    root = unpack('qemu-10', debs)
    binary = os.path.join(root, 'usr/bin/qemu-system-x86_64')
    libdir = os.path.join(root, 'usr/lib/x86_64-linux-gnu')
    lacking = missing_libs(binary, libdir)
    if lacking:
        raise Missing('QEMU 10 needs libraries bookworm lacks: '
                      + ' '.join(lacking)
                      + ' (add their packages to QEMU_10_PKGS)')
    datadirs = [d for d in ('usr/share/qemu', 'usr/share/seabios',
                            'usr/lib/ipxe/qemu')
                if os.path.isdir(os.path.join(root, d))]
    return {'QEMU_10_BIN': binary, 'QEMU_10_LIBDIR': libdir,
            'QEMU_10_DATADIRS': ':'.join(os.path.join(root, d)
                                         for d in datadirs)}


def qemu72(conf):
    binary = conf['QEMU_7_2_BIN']
    if not os.access(binary, os.X_OK):
        raise Missing(f'{binary} is not installed: '
                      'run tools/install-deps.sh testbed')
    out = subprocess.run([binary, '--version'], stdout=subprocess.PIPE,
                         text=True).stdout.split()
    version = out[3] if len(out) > 3 else '?'
    if not version.startswith(conf['QEMU_7_2_PREFIX']):
        raise Missing(f'{binary} is QEMU {version}, not '
                      f'{conf["QEMU_7_2_PREFIX"]}*')
    return {'QEMU_7_2_BIN': binary}, version


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--offline', action='store_true',
                    help='use the cached assets; do not ask apt')
    args = ap.parse_args()
    conf = read_conf(os.path.join(TOP, 'testbed', 'versions.conf'))
    os.makedirs(TB, exist_ok=True)
    conf_path = os.path.join(TB, 'assets.conf')
    apt = Apt(conf['SUITE'], conf['BACKPORTS'])
    if not args.offline:
        try:
            apt.setup()
            ok, why = apt.update()
        except Missing as e:
            ok, why = False, str(e)
        if not ok:
            if os.path.exists(conf_path):
                note(f'apt update failed ({why}); using the cached assets')
                return
            die(f'apt-get update failed and nothing is cached: {why}')
    elif os.path.exists(conf_path):
        return
    else:
        die('--offline but out/testbed/assets.conf does not exist: '
            'run testbed/fetch-assets.py once with network')

    assets, used = {}, []
    steps = [
        ('KERNEL_6_1', lambda: fetch_kernel(apt, conf, 'KERNEL_6_1', used)),
        ('KERNEL_6_12', lambda: fetch_kernel(apt, conf, 'KERNEL_6_12', used)),
        ('BUSYBOX', lambda: fetch_busybox(apt, conf, used)),
        ('QEMU_10', lambda: fetch_qemu10(apt, conf, used)),
    ]
    for key, step in steps:
        try:
            assets.update(step())
        except (Missing, subprocess.CalledProcessError) as e:
            assets[key + '_MISSING'] = str(e)
            note(f'{key}: missing: {e}')
    try:
        found, version = qemu72(conf)
        assets.update(found)
        used.append(('QEMU_7_2', 'qemu-system-x86 (system)', version))
    except Missing as e:
        assets['QEMU_7_2_MISSING'] = str(e)
        note(f'QEMU_7_2: missing: {e}')

    text = ''.join(f'{k} {p} {v}\n' for k, p, v in used)
    write_atomic(os.path.join(TB, 'versions.used'), text)
    write_atomic(conf_path, ''.join(f'{k}="{v}"\n'
                                    for k, v in sorted(assets.items())))
    for k, p, v in used:
        note(f'{k}: {p} {v}')


if __name__ == '__main__':
    main()
