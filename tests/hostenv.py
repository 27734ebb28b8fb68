#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Host environment for running DPDK binaries as root and as an
unprivileged user: hugepages, hugetlbfs, the test user, and running a
command as that user. Python 3 standard library only; needs root and the
util-linux tools setpriv, prlimit and mount (Debian: util-linux, mount,
passwd for useradd).

API (everything else is private):

  HostEnvError
      Raised with a one-line message naming the cause and the fix.

  hugepages(count, lock_timeout=900) -> context manager
      Make at least `count` 2 MiB hugepages free for the duration of the
      block, raising the kernel's pool only by what is missing, and give
      that back on exit (the pool returns to its previous count unless
      someone else changed it meanwhile). Holds an exclusive lock
      (LOCK_PATH) so only one user of this module holds hugepages at a
      time; waits up to lock_timeout seconds for it (saying so on
      stderr). Raises HostEnvError("no hugepages available: ...") when the
      kernel cannot provide them. Yields the number of pages added to the
      pool.

  hugetlbfs(path=None, owner=None, mode=0o770, size=None) -> context manager
      Yield a directory where a 2 MiB hugetlbfs is mounted and owned by the
      user `owner` (name; None: root). A new mount is made at `path` (or a
      fresh temporary directory) and unmounted and removed on exit. `size`
      (bytes) caps what the mount can hold.

  private_mounts()
      Move this process (and the children it starts afterwards) into a
      private mount namespace and unmount there every hugetlbfs mounted by
      others, so DPDK (which takes the first hugetlbfs in /proc/mounts
      unless given --huge-dir) sees only the mounts this process makes.
      Nothing changes outside; those mounts vanish when the process exits.
      Call it before starting threads.

  runtime_dir(owner) -> context manager
      Yield a fresh directory (mode 0700) owned by `owner`, removed on
      exit; use it as XDG_RUNTIME_DIR for that user's DPDK runs.

  ensure_user(name=TEST_USER) -> pwd.struct_passwd
      Create the unprivileged system user `name` if missing (useradd
      chooses the uid; no home directory, no login shell). Idempotent.

  user_argv(argv, user=None, memlock=None, runtime_dir=None, env=None)
      -> list
      The command line that runs `argv` as `user` (None: unchanged, i.e.
      root) with RLIMIT_MEMLOCK soft and hard limits set to `memlock`
      bytes (None: unchanged; "unlimited" allowed), a clean environment
      (PATH, HOME, USER, LANG=C, XDG_RUNTIME_DIR=runtime_dir if given, plus
      `env`), no capabilities and no supplementary groups but the user's.
      Usable as an exec wrapper (e.g. in a `meson test --wrapper` script).

  run(argv, timeout, **user_argv_kwargs) -> subprocess.CompletedProcess
      Run user_argv(argv, ...) in its own process group with stdout and
      stderr merged into .stdout (text). On timeout the whole group is
      killed and subprocess.TimeoutExpired is raised (its .output holds
      what was printed so far).

Example:

    import hostenv
    hostenv.ensure_user()
    with hostenv.hugepages(256), \\
         hostenv.hugetlbfs(owner=hostenv.TEST_USER) as huge, \\
         hostenv.runtime_dir(hostenv.TEST_USER) as rt:
        r = hostenv.run(["dpdk-test", "--huge-dir", huge, "-m", "64"],
                        timeout=60, user=hostenv.TEST_USER,
                        memlock=64 << 20, runtime_dir=rt,
                        env={"DPDK_TEST": "malloc_autotest"})
"""

import contextlib
import ctypes
import fcntl
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

__all__ = ["HostEnvError", "TEST_USER", "LOCK_PATH", "hugepages",
           "hugetlbfs", "private_mounts", "runtime_dir", "ensure_user",
           "user_argv", "run"]

TEST_USER = "dpdktest"
LOCK_PATH = "/run/lock/dpdk-hostenv-hugepages.lock"
HUGEPAGE_KB = 2048
_SYSFS = "/sys/kernel/mm/hugepages/hugepages-%dkB" % HUGEPAGE_KB
_CLONE_NEWNS = 0x00020000
_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class HostEnvError(Exception):
    """One-line message: the cause and the fix."""


def _need_root(what):
    if os.geteuid() != 0:
        raise HostEnvError("%s needs root: run as root (e.g. with sudo)"
                           % what)


def _read_pool(name):
    with open(os.path.join(_SYSFS, name)) as f:
        return int(f.read())


def _write_pool(count):
    with open(os.path.join(_SYSFS, "nr_hugepages"), "w") as f:
        f.write("%d\n" % count)


def _available():
    return _read_pool("free_hugepages") - _read_pool("resv_hugepages")


def _mem_available_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


@contextlib.contextmanager
def _lock(timeout):
    os.makedirs(os.path.dirname(LOCK_PATH), exist_ok=True)
    with open(LOCK_PATH, "a") as f:
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited:
                    print("hostenv: waiting for the hugepages another run "
                          "holds (lock %s)" % LOCK_PATH, file=sys.stderr,
                          flush=True)
                    waited = True
                if time.monotonic() > deadline:
                    raise HostEnvError(
                        "hugepages still held by another run after %d s "
                        "(lock %s): wait for it to finish" %
                        (timeout, LOCK_PATH)) from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def hugepages(count, lock_timeout=900):
    """See the module docstring."""
    _need_root("reserving hugepages")
    if not os.path.isdir(_SYSFS):
        raise HostEnvError("no hugepages available: the kernel has no 2 MiB "
                           "hugepage pool (%s missing)" % _SYSFS)
    with _lock(lock_timeout):
        before = _read_pool("nr_hugepages")
        added = max(0, count - _available())
        if added * HUGEPAGE_KB > _mem_available_kb():
            raise HostEnvError(
                "no hugepages available: need %d more 2 MiB pages, more than "
                "the host's available memory: free memory or ask for fewer"
                % added)
        if added:
            try:
                _write_pool(before + added)
            except OSError:
                pass  # too large for the kernel: reported below
            got = _available()
            if got < count:
                _write_pool(before)
                raise HostEnvError(
                    "no hugepages available: need %d free 2 MiB pages, the "
                    "kernel gave only %d (pool %d): free memory or stop "
                    "other hugepage users" % (count, got, before))
        try:
            yield added
        finally:
            if added:
                _write_pool(max(0, _read_pool("nr_hugepages") - added))


def _owner_ids(owner):
    if owner is None:
        return 0, 0
    try:
        pw = pwd.getpwnam(owner)
    except KeyError:
        raise HostEnvError("no user '%s': create it with ensure_user()"
                           % owner) from None
    return pw.pw_uid, pw.pw_gid


@contextlib.contextmanager
def hugetlbfs(path=None, owner=None, mode=0o770, size=None):
    """See the module docstring."""
    _need_root("mounting hugetlbfs")
    uid, gid = _owner_ids(owner)
    made = path is None
    if made:
        path = tempfile.mkdtemp(prefix="dpdk-huge-")
    else:
        os.makedirs(path, exist_ok=True)
    opts = "pagesize=2M,uid=%d,gid=%d,mode=%o" % (uid, gid, mode)
    if size is not None:
        opts += ",size=%d" % size
    r = subprocess.run(["mount", "-t", "hugetlbfs", "-o", opts, "nodev",
                        path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        if made:
            os.rmdir(path)
        raise HostEnvError("cannot mount hugetlbfs on %s: %s" %
                           (path, r.stdout.strip().replace("\n", "; ")))
    try:
        yield path
    finally:
        subprocess.run(["umount", path], check=False)
        if made:
            with contextlib.suppress(OSError):
                os.rmdir(path)


def private_mounts():
    """See the module docstring."""
    _need_root("a private mount namespace")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNS) != 0:
        raise HostEnvError("unshare(CLONE_NEWNS) failed: %s" %
                           os.strerror(ctypes.get_errno()))
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    with open("/proc/self/mounts") as f:
        huge = [line.split()[1] for line in f
                if line.split()[2] == "hugetlbfs"]
    for path in reversed(huge):
        subprocess.run(["umount", "-l", path], check=True)


@contextlib.contextmanager
def runtime_dir(owner):
    """See the module docstring."""
    uid, gid = _owner_ids(owner)
    path = tempfile.mkdtemp(prefix="dpdk-run-")
    os.chown(path, uid, gid)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def ensure_user(name=TEST_USER):
    """See the module docstring."""
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name)
    _need_root("creating user '%s'" % name)
    if shutil.which("useradd", path=_PATH) is None:
        raise HostEnvError("useradd not found: apt-get install passwd")
    r = subprocess.run(["useradd", "--system", "--no-create-home",
                        "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", name],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    # Another run may have created it meanwhile (exit 9: already exists).
    if r.returncode not in (0, 9):
        raise HostEnvError("useradd %s failed: %s" %
                           (name, r.stdout.strip().replace("\n", "; ")))
    return pwd.getpwnam(name)


def user_argv(argv, user=None, memlock=None, runtime_dir=None, env=None):
    """See the module docstring."""
    if user is None:
        pw = pwd.getpwuid(os.geteuid())
    else:
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            raise HostEnvError("no user '%s': create it with ensure_user()"
                               % user) from None
    envs = {"PATH": _PATH, "HOME": pw.pw_dir, "USER": pw.pw_name,
            "LOGNAME": pw.pw_name, "LANG": "C"}
    if runtime_dir is not None:
        envs["XDG_RUNTIME_DIR"] = runtime_dir
    envs.update(env or {})
    cmd = []
    if memlock is not None:
        cmd += ["prlimit", "--memlock=%s:%s" % (memlock, memlock), "--"]
    if user is not None:
        cmd += ["setpriv", "--reuid=%d" % pw.pw_uid,
                "--regid=%d" % pw.pw_gid, "--init-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--"]
    cmd += ["env", "-i", "--"] + ["%s=%s" % kv for kv in sorted(envs.items())]
    return cmd + list(argv)


def run(argv, timeout, **kwargs):
    """See the module docstring."""
    cmd = user_argv(argv, **kwargs)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, errors="replace",
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        raise subprocess.TimeoutExpired(cmd, timeout, output=out) from None
    return subprocess.CompletedProcess(cmd, p.returncode, out)
