#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Build the test bed's guest initramfs (an uncompressed newc cpio) for one
DPDK build directory and one fetched kernel: busybox, the vfio / uio /
virtio-iommu modules with their dependencies, testbed/dropuid.c built
statically, dpdk-testpmd and dpdk-test of the build with their libraries
(plus libgcc_s.so.1), testbed/autotest-secondary.c built against the build
when its tree has the autotests it runs, Debian's python3 with a trimmed
standard library, the tree's user tools and lspci when its tree has the
series' usertools/dpdk-user-check.py, strace with its libraries, and
testbed/guest-init.sh as /init. The scenario script (/cases.sh) is appended
per boot by the runner.

Usage: make-initramfs.py [--add SRC:NAME]... BUILD_DIR KERNEL OUTPUT
  KERNEL: 6.1 or 6.12 (as fetched by testbed/fetch-assets.py)
  --add SRC:NAME  also the program SRC as /bin/NAME, with its libraries
                  (e.g. a benchmark built against the build)
"""

import argparse
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile

import tblib

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get('OUT', os.path.join(TOP, 'out'))
TB = os.path.join(OUT, 'testbed')
HERE = os.path.join(TOP, 'testbed')

MODULES = ['vfio', 'vfio_iommu_type1', 'vfio_virqfd', 'irqbypass',
           'vfio-pci-core', 'vfio-pci', 'virtio-iommu', 'uio',
           'uio_pci_generic']
DPDK_PROGRAMS = ['app/dpdk-testpmd', 'app/test/dpdk-test']
# Autotests of the series built into /bin/autotest-secondary.
SECONDARY_AUTOTESTS = ['app/test/test_eal_vfio_dma.c']
TB_UID = 1000


def die(msg):
    print('error: ' + msg, file=sys.stderr)
    sys.exit(1)


def read_assets():
    path = os.path.join(TB, 'assets.conf')
    if not os.path.exists(path):
        die(f'{path} is missing: run testbed/fetch-assets.py first')
    assets = {}
    with open(path) as f:
        for line in f:
            k, v = line.rstrip('\n').split('=', 1)
            assets[k] = v.strip('"')
    return assets


def ldd_libs(binary):
    """Absolute paths of BINARY's shared libraries, loader included."""
    r = subprocess.run(['ldd', binary], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if 'not a dynamic executable' in r.stdout:
        return []
    if r.returncode != 0 or 'not found' in r.stdout:
        die(f'ldd {binary} failed: {r.stdout.strip()}')
    libs = []
    for line in r.stdout.splitlines():
        m = re.search(r'(/\S+)', line.split('=>')[-1])
        if m:
            libs.append(m.group(1))
    return libs


class Stage:
    """A directory that becomes the initramfs."""

    def __init__(self, root):
        self.root = root

    def path(self, dest):
        return os.path.join(self.root, dest.lstrip('/'))

    def add(self, src, dest, mode=None):
        """Copy SRC (symlinks followed) to DEST inside the stage."""
        target = self.path(dest)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(src, target)
        os.chmod(target, mode if mode is not None
                 else os.stat(src).st_mode & 0o777)

    def add_program(self, src, dest, strip=False):
        """SRC as DEST plus the libraries it needs, at their own paths."""
        if strip:
            target = self.path(dest)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            subprocess.run(['strip', '--strip-debug', '-o', target, src],
                           check=True)
        else:
            self.add(src, dest)
        for lib in ldd_libs(src):
            if not os.path.exists(self.path(lib)):
                self.add(lib, lib)

    def write(self, dest, text, mode=0o644):
        target = self.path(dest)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, 'w') as f:
            f.write(text)
        os.chmod(target, mode)


def add_modules(stage, moddir, release):
    """MODULES and their dependencies (decompressed), then depmod -b."""
    dep_file = os.path.join(moddir, 'modules.dep')
    if not os.path.exists(dep_file):
        base = os.path.dirname(os.path.dirname(os.path.dirname(moddir)))
        subprocess.run(['depmod', '-b', base, release], check=True)
    deps = {}
    with open(dep_file) as f:
        for line in f:
            mod, rest = line.split(':', 1)
            deps[mod] = rest.split()

    def name(path):
        return os.path.basename(path).split('.ko')[0].replace('-', '_')

    by_name = {name(m): m for m in deps}
    todo, seen = [], set()
    for mod in MODULES:
        if mod.replace('-', '_') in by_name:
            todo.append(by_name[mod.replace('-', '_')])
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        todo.extend(deps[mod])
    for mod in sorted(seen):
        src = os.path.join(moddir, mod)
        dest = os.path.join('lib/modules', release,
                            re.sub(r'\.ko\.(xz|zst|gz)$', '.ko', mod))
        target = stage.path(dest)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if mod.endswith('.xz'):
            with lzma.open(src) as fin, open(target, 'wb') as fout:
                shutil.copyfileobj(fin, fout)
        elif mod.endswith('.ko'):
            shutil.copyfile(src, target)
        else:
            die(f'{src}: compression not handled (only .ko and .ko.xz)')
    for extra in ('modules.order', 'modules.builtin',
                  'modules.builtin.modinfo'):
        if os.path.exists(os.path.join(moddir, extra)):
            stage.add(os.path.join(moddir, extra),
                      os.path.join('lib/modules', release, extra))
    subprocess.run(['depmod', '-b', stage.root, release], check=True)
    return sorted(name(m) for m in seen)


def build_dropuid(stage, tmp):
    binary = os.path.join(tmp, 'dropuid')
    r = subprocess.run(['gcc', '-static', '-O2', '-Wall', '-Werror', '-o',
                        binary, os.path.join(HERE, 'dropuid.c')],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if r.returncode != 0:
        die('cannot build testbed/dropuid.c statically (libc6-dev?): '
            + r.stdout.strip())
    stage.add(binary, '/bin/dropuid', 0o755)


def source_dir(build_dir):
    with open(os.path.join(build_dir, 'meson-info', 'meson-info.json')) as f:
        return json.load(f)['directories']['source']


def build_autotest_secondary(stage, tmp, build_dir):
    """testbed/autotest-secondary.c with the tree's SECONDARY_AUTOTESTS,
    linked like the build's programs, as /bin/autotest-secondary. A tree
    without those autotests (the base) gets none."""
    src = source_dir(build_dir)
    tests = [os.path.join(src, t) for t in SECONDARY_AUTOTESTS]
    if not all(os.path.exists(t) for t in tests):
        return
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(build_dir,
                                                        'meson-uninstalled'))
    r = subprocess.run(['pkg-config', '--cflags', '--static', '--libs',
                        'libdpdk'], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        die(f'pkg-config libdpdk of {build_dir}: {r.stdout.strip()}')
    binary = os.path.join(tmp, 'autotest-secondary')
    # the flags dpdk-test is built with
    r = subprocess.run(['gcc', '-O2', '-Wall', '-Werror', '-o', binary,
                        '-DALLOW_EXPERIMENTAL_API', '-DALLOW_INTERNAL_API',
                        '-I', os.path.join(src, 'app', 'test'),
                        os.path.join(HERE, 'autotest-secondary.c')] + tests
                       + r.stdout.split(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        lines = r.stdout.strip().splitlines() or ['no output']
        first = next((l for l in lines if 'error' in l), lines[-1])
        die('cannot build testbed/autotest-secondary.c against '
            f'{build_dir}: {first}')
    stage.add_program(binary, '/bin/autotest-secondary', strip=True)


# What the guest's python3 leaves out of Debian's standard library: tests,
# GUI, build and packaging parts, and extension modules that pull large
# libraries (ssl, sqlite, curses) which no DPDK user tool imports.
PY_SKIP_DIRS = {'__pycache__', 'test', 'idlelib', 'tkinter', 'turtledemo',
                'ensurepip', 'lib2to3', 'pydoc_data', 'site-packages',
                'dist-packages', 'distutils', 'venv'}
PY_SKIP_EXT = re.compile(r'^(_tkinter|_test|_ctypes_test|xxlimited|_xx|'
                         r'_ssl|_hashlib|_sqlite3|_curses|readline|_dbm|'
                         r'_gdbm|nis|ossaudiodev|audioop)')
# The user tools of a tree the guest gets, when the tree has the series'
# dpdk-user-check.py (a base has no use for Python in the guest).
USERTOOLS = ['dpdk-user-check.py', 'dpdk-devbind.py', 'dpdk-hugepages.py']


def add_usertools(stage, src_dir):
    """Debian's python3 with its trimmed standard library, the tree's
    USERTOOLS in /usr/bin and what they run (lspci for dpdk-devbind.py),
    if the tree has dpdk-user-check.py."""
    tools = os.path.join(src_dir, 'usertools')
    if not os.path.exists(os.path.join(tools, USERTOOLS[0])):
        return
    python = os.path.realpath('/usr/bin/python3')
    ver = os.path.basename(python)
    stage.add_program(python, '/usr/bin/' + ver)
    for link in ('/usr/bin/python3', '/bin/python3'):
        os.symlink('/usr/bin/' + ver, stage.path(link))
    # the tools' "#! /usr/bin/env python3"
    os.symlink('/bin/busybox', stage.path('/usr/bin/env'))
    lib = os.path.join('/usr/lib', ver)
    for dirpath, dirs, files in os.walk(lib):
        dirs[:] = [d for d in dirs if d not in PY_SKIP_DIRS and
                   not d.startswith('config-')]
        for f in files:
            src = os.path.join(dirpath, f)
            if f.endswith('.py'):
                stage.add(src, src)
            elif f.endswith('.so') and not PY_SKIP_EXT.match(f):
                stage.add_program(src, src)
    for tool in USERTOOLS:
        stage.add(os.path.join(tools, tool), '/usr/bin/' + tool, 0o755)
    lspci = shutil.which('lspci', path='/usr/bin:/bin')
    if not lspci:
        die('lspci is not installed: run tools/install-deps.sh testbed')
    stage.add_program(lspci, '/usr/bin/lspci')
    # where the guide's memlock line goes (see guest-init.sh tb_guide)
    os.makedirs(stage.path('/etc/security/limits.d'), exist_ok=True)
    guide = tblib.guide_commands(src_dir)
    if guide:
        for name, cmds in zip(('root', 'user'), guide):
            stage.write(f'/guide-{name}.sh', ''.join(c + '\n' for c in cmds))


def libgcc_s():
    r = subprocess.run(['gcc', '-print-file-name=libgcc_s.so.1'],
                       stdout=subprocess.PIPE, text=True)
    path = r.stdout.strip()
    if not os.path.isabs(path) or not os.path.exists(path):
        die('gcc does not know libgcc_s.so.1: install gcc')
    return os.path.realpath(path)


def build(build_dir, kernel, output, extra=()):
    assets = read_assets()
    key = 'KERNEL_' + kernel.replace('.', '_')
    if key + '_MODULES' not in assets:
        die(f'kernel {kernel} was not fetched: '
            + assets.get(key + '_MISSING', 'unknown kernel (6.1 or 6.12)'))
    for prog in DPDK_PROGRAMS:
        if not os.access(os.path.join(build_dir, prog), os.X_OK):
            die(f'{build_dir}/{prog} does not exist: build the tree first')
    for src, name in extra:
        if not os.access(src, os.X_OK) or '/' in name or not name:
            die(f'--add {src}:{name}: SRC must be an executable and NAME '
                'a file name (e.g. --add out/bench/bin/base/x:x-base)')
    strace = shutil.which('strace')
    if not strace:
        die('strace is not installed: run tools/install-deps.sh testbed')
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=TB) as tmp:
        stage = Stage(os.path.join(tmp, 'root'))
        for d in ('proc', 'sys', 'dev', 'tmp', 'var/run', 'etc', 'bin'):
            os.makedirs(stage.path(d), exist_ok=True)
        stage.add(assets['BUSYBOX'], '/bin/busybox', 0o755)
        stage.add(os.path.join(HERE, 'guest-init.sh'), '/init', 0o755)
        build_dropuid(stage, tmp)
        stage.add_program(strace, '/bin/strace')
        for prog in DPDK_PROGRAMS:
            stage.add_program(os.path.join(build_dir, prog),
                              '/bin/' + os.path.basename(prog), strip=True)
        build_autotest_secondary(stage, tmp, build_dir)
        add_usertools(stage, source_dir(build_dir))
        for src, name in extra:
            stage.add_program(src, '/bin/' + name, strip=True)
        gcc_s = libgcc_s()
        stage.add(gcc_s, '/lib/x86_64-linux-gnu/libgcc_s.so.1')
        stage.write('/etc/passwd', f'root:x:0:0::/root:/bin/sh\n'
                    f'dpdk:x:{TB_UID}:{TB_UID}::/tmp:/bin/sh\n')
        stage.write('/etc/group', f'root:x:0:\ndpdk:x:{TB_UID}:\n')
        mods = add_modules(stage, assets[key + '_MODULES'],
                           assets[key + '_RELEASE'])
        tmp_out = output + '.tmp'
        with open(tmp_out, 'wb') as f:
            find = subprocess.Popen(['find', '.'], cwd=stage.root,
                                    stdout=subprocess.PIPE)
            subprocess.run(['cpio', '--quiet', '-o', '-H', 'newc',
                            '-R', '0:0'], cwd=stage.root, stdin=find.stdout,
                           stdout=f, check=True)
            find.wait()
        os.replace(tmp_out, output)
    print(f'== {output}: {build_dir}, kernel {assets[key + "_RELEASE"]}, '
          f'modules {" ".join(mods)}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--add', action='append', default=[],
                    metavar='SRC:NAME', help='also SRC as /bin/NAME')
    ap.add_argument('build_dir')
    ap.add_argument('kernel', help='6.1 or 6.12')
    ap.add_argument('output')
    args = ap.parse_args()
    extra = []
    for item in args.add:
        src, sep, name = item.rpartition(':')
        if not sep:
            die(f'--add {item}: want SRC:NAME, e.g. --add '
                'out/bench/bin/base/eal-init-cost:eal-init-cost-base')
        extra.append((os.path.abspath(src), name))
    build(os.path.abspath(args.build_dir), args.kernel, args.output, extra)


if __name__ == '__main__':
    main()
