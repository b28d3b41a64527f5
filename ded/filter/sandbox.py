"""Run untrusted, model-written Python programs against stdin/stdout tests.

Never `exec` model output in a workflow process: everything goes through
`run_program`, which starts `ded/filter/sandbox_launcher.py` (see its docstring for
the process tree). What each defence does, and what it needs:

- **Own session, wall-clock kill by the parent.** The launcher is started with
  setsid; it waits for the program with a deadline and kills it.
- **All descendants die.** The program runs inside a new PID namespace when
  unshare(CLONE_NEWPID) works (as root here): when the namespace's init
  exits, the kernel kills every process left in it, including grandchildren
  that called setsid() or double-forked. The launcher is also a child
  subreaper, so without a namespace every orphan is reparented to it and a
  /proc walk by parent pid still finds and kills them (no escape via setsid).
  A cgroup would also work where writable (cgroup v1 `pids` is writable on
  this machine) but is not needed and not portable to cluster nodes.
- **Unprivileged uid.** As root, the program runs under a uid of its own
  (default range 61000-62999, leased per run with an flock so concurrent runs
  and concurrent jobs never share one). That is what makes RLIMIT_NPROC
  effective (root ignores it: fork bombs), stops the program from signalling
  the workflow (EPERM) and from writing outside its scratch directory and
  world-writable places such as /tmp. Not root (a SLURM job, say): the
  program runs as the invoking user inside a user namespace that maps only
  that user (where the kernel allows unprivileged user namespaces, as most
  distributions do), which is what lets the launcher create the PID and
  network namespaces below: the program then cannot signal anything outside
  its PID namespace, the workflow included. RLIMIT_NPROC counts that user's
  processes, so it is set to the current count plus the allowance. Without
  user namespaces the run goes on with the invoking user's reach, and
  `RunResult.isolation` says so.
- **Resource limits** (setrlimit in the launcher's child, before exec):
  RLIMIT_CPU (backstop for busy loops; the verdict uses measured CPU time),
  RLIMIT_AS (memory), RLIMIT_FSIZE (caps stdout, which is a file, and any
  file written), RLIMIT_NPROC, RLIMIT_CORE=0, RLIMIT_NOFILE.
- **No network**: a new network namespace (only a down loopback). Where
  unshare(CLONE_NEWNET) fails (not root and no user namespaces) the run goes
  on with network and `RunResult.isolation["net"]` is False.
- **Its own filesystem**: a mount namespace with a root of its own (see
  `ded/filter/sandbox_launcher.py`): the system and the interpreter read-only, an
  empty private home and private tmpfs over /tmp, /var/tmp, /dev/shm and
  /run (together capped at `Limits.disk_mb`), no path sockets. The program
  cannot read the user's files, the workflow's folder or the problem's tests,
  and nothing it writes outlives it. Programs get the standard library of the
  workflow's interpreter (as on a judge, no site-packages), and
  `sys.executable` works inside. `setup()` probes once whether this holds;
  where it cannot (no user namespaces, a seccomp filter that forbids mount),
  `sandbox.unconfined` decides: `refuse` (the default) stops before any
  program runs, `warn` runs them in a scratch folder as before, with the
  weaker isolation in every verdict (`isolation.fs` false) and in the log.
- **Scrubbed environment**: a fixed minimal env, `python -I` (ignores
  PYTHON* variables and user site), single-threaded BLAS.

The TLE verdict uses the CPU time of the program measured by wait4 (user +
system), not wall time, so parallel runs on a loaded machine do not turn into
false time limits; the wall deadline (`wall_factor * time_limit + wall_extra_s`)
is a generous backstop for programs that sleep or block.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path


from . import sandbox_launcher as _launcher
from ..errors import DedError

LAUNCHER = str(Path(__file__).with_name("sandbox_launcher.py"))
#: The program's home and working folder inside its own root (when the filesystem is confined).
HOME = _launcher.HOME

class InfraError(RuntimeError):
    """The sandbox itself failed (not the program); the run is retried, never counted as wrong."""


class Unconfined(DedError, RuntimeError):
    """The sandbox cannot confine the filesystem here and the policy is to refuse: no program runs."""


#: What to do where the filesystem cannot be confined (config `sandbox.unconfined`, which the
#: workflow passes to every job through this environment variable).
UNCONFINED_ENV = "DED_SANDBOX_UNCONFINED"
UNCONFINED_POLICIES = ("refuse", "warn")


def unconfined_policy() -> str:
    policy = os.environ.get(UNCONFINED_ENV, "refuse")
    if policy not in UNCONFINED_POLICIES:
        raise Unconfined(f"{UNCONFINED_ENV}={policy!r}: expected one of {', '.join(UNCONFINED_POLICIES)}")
    return policy


@dataclass(frozen=True)
class Limits:
    time_limit_s: float = 2.0  # CPU seconds of the program
    memory_mb: int = 256  # RLIMIT_AS: virtual memory, stricter than resident memory
    output_mb: float = 16.0  # stdout cap; also the cap of any one file the program writes
    nproc: int = 64  # processes + threads under the run's uid
    nofile: int = 256
    disk_mb: int = 64  # all the program's writable places together (one tmpfs), when confined
    wall_factor: float = 3.0
    wall_extra_s: float = 1.0

    @property
    def wall_s(self) -> float:
        return self.time_limit_s * self.wall_factor + self.wall_extra_s


@dataclass
class RunResult:
    status: str  # ok | time_limit | memory_limit | runtime_error | output_limit
    reason: str
    stdout: bytes = b""
    stderr_tail: str = ""
    exit_code: int | None = None
    signal: int | None = None
    cpu_s: float | None = None
    wall_s: float = 0.0
    maxrss_kb: int | None = None
    uid: int | None = None
    token: str = ""  # in the program's environment as DED_SANDBOX_RUN, so tests can find strays
    isolation: dict = field(default_factory=dict)

    def summary(self) -> dict:
        d = asdict(self)
        d.pop("stdout")
        return d


# --------------------------------------------------------------------------
# Setup discovered once per process


@dataclass(frozen=True)
class Setup:
    python: str  # what the program sees as sys.executable (argv[0])
    exe: str  # the binary execve() runs: the same interpreter, reachable by the sandbox uid
    drop_uid: bool
    uid_base: int
    uid_count: int
    notes: tuple[str, ...]
    binds: tuple[str, ...] = ()  # read-only in the program's own root; empty: no filesystem confinement
    hide: tuple[str, ...] = ()  # folders covered by an empty one there: the interpreter's site-packages

    @property
    def fs(self) -> bool:
        return bool(self.binds)


_SETUP: dict[str, Setup] = {}
_SETUP_LOCK = threading.Lock()
UID_BASE = int(os.environ.get("DED_SANDBOX_UID_BASE", "61000"))
UID_COUNT = int(os.environ.get("DED_SANDBOX_UID_COUNT", "2000"))
# Prints the version, then the folders of third-party packages on its path.
_PROBE = ("import sys; print('%d.%d' % sys.version_info[:2]); "
          "print(*[p for p in sys.path if p.endswith(('site-packages', 'dist-packages'))], sep='\\n')")


def _interpreter_candidates(python: str) -> list[str]:
    """Binaries that may run `python` for an unprivileged uid. A venv's interpreter is often a
    symlink into a folder only root can enter (here /root/.pyenv); the base binary of the same
    version started with argv[0] = the venv's python still finds the venv's pyvenv.cfg, so the
    program gets the same site-packages."""
    out = [python]
    if not os.path.exists(python):
        return out
    cands = [os.path.realpath(python)]
    if python == sys.executable:  # only then is the version known to match
        ver = "%d.%d" % sys.version_info[:2]
        cands.append(shutil.which(f"python{ver}", path="/usr/local/bin:/usr/bin:/bin"))
    for cand in cands:
        if cand and cand not in out:
            out.append(cand)
    return out


#: Host paths every confined program sees read-only (those that exist); the interpreter's prefix is added.
SYSTEM_BINDS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")


def _prefix(exe: str) -> str:
    """The installation an interpreter binary belongs to (<prefix>/bin/python3.x)."""
    return os.path.dirname(os.path.dirname(exe))


def confined_binds(exe: str) -> tuple[str, ...]:
    prefix = _prefix(exe)
    covered = any(prefix == b or prefix.startswith(b + "/") for b in SYSTEM_BINDS)
    return SYSTEM_BINDS + (() if covered else (prefix,))


def _probe(trial: Setup, want: str | None) -> tuple[str | None, tuple[str, ...]]:
    """Run one tiny program with `trial`: (None if it ran and printed the wanted version, else why
    not; the site-packages folders on its path)."""
    try:
        res = _run_once(_PROBE, b"", Limits(time_limit_s=5, memory_mb=1024), trial)
    except InfraError as exc:
        return str(exc), ()
    lines = res.stdout.decode(errors="replace").split("\n")
    got = lines[0].strip()
    if res.status == "ok" and got and (want is None or got == want):
        return None, tuple(line for line in lines[1:] if line.strip())
    return f"{res.reason or got} {res.stderr_tail[-200:]}".strip(), ()


def venv_root(python: str) -> str | None:
    """The virtual environment `python` (a path, symlinks kept) belongs to, or None: the folder
    above its bin/ holds pyvenv.cfg."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(python)))
    return root if os.path.isfile(os.path.join(root, "pyvenv.cfg")) else None


def _confined_setup(python: str, want: str | None, notes: list[str], packages: bool = False) -> Setup | None:
    """A confined setup: the real interpreter binary (a venv's symlink resolved), bound read-only.
    With `packages`, the interpreter's installed packages stay importable (read-only): a venv's
    folder is bound too and the program starts as the venv's python, so it finds its pyvenv.cfg."""
    exe = os.path.realpath(python)
    venv = venv_root(python) if packages else None
    # The venv's folder as the program names it and where it really is (its scripts' #! lines name the latter).
    venv_binds = tuple(dict.fromkeys((os.path.abspath(venv), os.path.realpath(venv)))) if venv else ()
    trial = Setup(python if venv else exe, exe, os.geteuid() == 0, UID_BASE, UID_COUNT, (),
                  confined_binds(exe) + venv_binds)
    if not os.path.isfile(exe):
        return trial  # nothing to probe: every run fails to start, an infra_error, not a confinement question
    why, site = _probe(trial, want)
    if why is None:
        # Programs get the standard library only, as on a judge; the .pth files of an
        # interpreter's site-packages can also cost a good part of a second at every start.
        return trial if packages else dataclasses.replace(trial, hide=site)
    notes.append(f"no filesystem confinement: {why}")
    return None


def setup(python: str | None = None, packages: bool = False) -> Setup:
    """Probe once what this machine allows: filesystem confinement (a mount namespace), else the
    older isolation; dropping to an unprivileged uid needs root and an interpreter that uid can run
    (probed by running one tiny program as that uid). `packages`: the program may import what the
    interpreter has installed (a test runner such as pytest), not only the standard library."""
    python = python or sys.executable
    key = (python, "packages") if packages else python
    with _SETUP_LOCK:
        if key in _SETUP:
            return _SETUP[key]
        notes: list[str] = []
        want = "%d.%d" % sys.version_info[:2] if python == sys.executable else None
        confined = _confined_setup(python, want, notes, packages)
        if confined is not None:
            _SETUP[key] = confined
            return confined
        chosen = None
        if os.geteuid() == 0:
            tried = []
            for exe in _interpreter_candidates(python):
                trial = Setup(python, exe, True, UID_BASE, UID_COUNT, ())
                why, _ = _probe(trial, want)
                if why is None:
                    chosen = trial
                    break
                tried.append(f"{exe}: {why}")
            if chosen is None:
                notes.append("cannot run the interpreter as an unprivileged uid; programs run as root "
                             "(no RLIMIT_NPROC, no filesystem protection): " + "; ".join(tried))
        else:
            notes.append("not root: programs run as the invoking user")
        st = chosen or Setup(python, python, False, UID_BASE, UID_COUNT, ())
        st = Setup(st.python, st.exe, st.drop_uid, st.uid_base, st.uid_count, tuple(notes))
        _SETUP[key] = st
        if notes:
            import logging

            logging.getLogger("ded.filter.sandbox").warning("; ".join(notes))
        return st


def _lock_dir() -> Path:
    d = Path(tempfile.gettempdir()) / "ded-sandbox-uids"
    d.mkdir(mode=0o700, exist_ok=True)
    return d


_uid_cursor = [os.getpid() * 7]
_uid_cursor_lock = threading.Lock()


@contextlib.contextmanager
def _lease_uid(st: Setup):
    """Lease a uid no other run (in any process) uses; kill strays a crashed holder left behind."""
    if not st.drop_uid:
        yield None
        return
    with _uid_cursor_lock:
        start = _uid_cursor[0]
        _uid_cursor[0] += 1
    d = _lock_dir()
    for k in range(st.uid_count):
        uid = st.uid_base + (start + k) % st.uid_count
        fh = open(d / f"{uid}.lock", "a")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            continue
        try:
            _kill_uid(uid)
            try:
                yield uid
            finally:
                _kill_uid(uid)
        finally:
            fh.close()
        return
    raise InfraError(f"no free sandbox uid in {st.uid_base}..{st.uid_base + st.uid_count - 1}")


def _kill_uid(uid: int, budget_s: float = 10.0) -> int:
    """Kill every live process of `uid`; raise InfraError if some survive the budget."""
    killed, delay = 0, 0.0005
    deadline = time.monotonic() + budget_s
    while True:
        pids = _launcher.pids_of_uid(uid)
        if not pids:
            return killed
        if time.monotonic() > deadline:
            raise InfraError(f"{len(pids)} process(es) of sandbox uid {uid} survive SIGKILL")
        for pid in pids:
            killed += _launcher.kill_pid(pid, check=lambda p: _launcher.proc_uid(p) == uid)
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _env(home: str, tmp: str, token: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
        "DED_SANDBOX_RUN": token,
    }


def _rlimits(limits: Limits, uid: int | None) -> dict[str, tuple[int, int]]:
    import resource

    cpu = max(1, math.ceil(limits.time_limit_s + 0.5))
    mem = int(limits.memory_mb * 1024 * 1024)
    fsize = int(limits.output_mb * 1024 * 1024)
    nproc = limits.nproc
    if uid is None and os.geteuid() != 0:
        # Not root: NPROC counts every process of this user, the workflow's included.
        nproc += len(_launcher.pids_of_uid(os.getuid(), include_zombies=True))
    out = {
        "RLIMIT_CPU": (cpu, cpu + 1),
        "RLIMIT_AS": (mem, mem),
        "RLIMIT_FSIZE": (fsize, fsize),
        "RLIMIT_NPROC": (nproc, nproc),
        "RLIMIT_CORE": (0, 0),
        "RLIMIT_NOFILE": (limits.nofile, limits.nofile),
    }
    # Never ask for more than the hard limits this process has (fails when not root).
    for name, (soft, hard) in list(out.items()):
        cur_hard = resource.getrlimit(getattr(resource, name))[1]
        if cur_hard != resource.RLIM_INFINITY and os.geteuid() != 0:
            out[name] = (min(soft, cur_hard), min(hard, cur_hard))
    return out


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _read_capped(path: str, cap: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(cap)


def _tail(path: str, n: int = 2000) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - n))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


_MEMORY_PATTERNS = re.compile(r"MemoryError|Cannot allocate memory|std::bad_alloc|Unable to allocate|"
                              r"[Oo]ut of memory|Memory allocation (still )?failed")


def _run_once(source: str, stdin: bytes, limits: Limits, st: Setup) -> RunResult:
    token = os.urandom(8).hex()
    # 0700, the workflow's own: the program's source, stdin/stdout/stderr files, its root's mount point.
    private = tempfile.mkdtemp(prefix="ded-sbx-")
    # Unconfined programs run in a scratch folder of their own; confined ones in a tmpfs home.
    scratch = private if st.fs else tempfile.mkdtemp(prefix="ded-scratch-")
    status_r = status_w = -1
    fds: list[int] = []
    try:
        with _lease_uid(st) as uid:
            prog = os.path.join(private if st.fs else scratch, "main.py")
            with open(prog, "w", encoding="utf-8") as fh:
                fh.write(source)
            os.chmod(prog, 0o444)
            if uid is not None and not st.fs:
                os.chown(scratch, uid, uid)
            fs = None
            if st.fs:
                os.mkdir(os.path.join(private, "root"), 0o700)
                fs = {"root": os.path.join(private, "root"), "program": prog, "binds": list(st.binds),
                      "hide": list(st.hide), "disk_mb": limits.disk_mb, "required": True}
            in_path = os.path.join(private, "stdin")
            with open(in_path, "wb") as fh:
                fh.write(stdin)
            out_path, err_path = os.path.join(private, "stdout"), os.path.join(private, "stderr")
            fd_in = os.open(in_path, os.O_RDONLY)
            fds.append(fd_in)
            fd_out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            fds.append(fd_out)
            fd_err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            fds.append(fd_err)
            status_r, status_w = os.pipe()
            cfg = {
                "exe": st.exe,
                # Confined, the environment and the home are the sandbox's own, so -I's guard against
                # PYTHON* variables can give way to a fixed hash seed: set order, and so output, repeats.
                "argv": [st.python, "-s", "-B", prog] if st.fs else [st.python, "-I", "-B", prog],
                "env": _env(_launcher.HOME, "/tmp", token) if st.fs else _env(scratch, scratch, token),
                "cwd": scratch,
                "uid": uid,
                "gid": uid,
                "rlimits": _rlimits(limits, uid),
                "wall_s": limits.wall_s,
                "netns": True,
                "pidns": True,
                "fs": fs,
            }
            actions = [
                (os.POSIX_SPAWN_DUP2, fd_in, 0),
                (os.POSIX_SPAWN_DUP2, fd_out, 1),
                (os.POSIX_SPAWN_DUP2, fd_err, 2),
                (os.POSIX_SPAWN_DUP2, status_w, _launcher.STATUS_FD),
            ]
            t0 = time.monotonic()
            try:
                # The launcher is trusted code: it runs on this process's own interpreter.
                pid = os.posix_spawn(sys.executable, [sys.executable, "-I", "-S", LAUNCHER, json.dumps(cfg)],
                                     {"PATH": "/usr/bin:/bin"}, file_actions=actions, setsid=True)
            except OSError as exc:
                raise InfraError(f"cannot start the sandbox launcher: {exc}") from exc
            os.close(status_w)
            status_w = -1
            events = _wait_launcher(pid, status_r, limits.wall_s + 15.0)
            wall = time.monotonic() - t0
            res = _interpret(events, out_path, err_path, limits, wall)
            res.uid, res.token = uid, token
            if uid is not None:
                res.isolation["strays_killed"] = _kill_uid(uid)
            return res
    finally:
        for fd in fds + [status_r, status_w]:
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        shutil.rmtree(private, ignore_errors=True)
        if scratch != private:
            shutil.rmtree(scratch, ignore_errors=True)


def _wait_launcher(pid: int, status_r: int, backstop_s: float) -> list[dict]:
    """Wait for the launcher (it enforces the wall deadline itself); kill its session past the backstop."""
    pidfd = os.pidfd_open(pid)
    try:
        import select

        p = select.poll()
        p.register(pidfd, select.POLLIN)
        if not p.poll(backstop_s * 1000):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _launcher.kill_descendants(pid)
            os.waitpid(pid, 0)
            raise InfraError(f"sandbox launcher did not finish within {backstop_s:.0f} s")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(pidfd)
    chunks = []
    while True:
        chunk = os.read(status_r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    events = [json.loads(line) for line in b"".join(chunks).decode().splitlines() if line.strip()]
    if os.WIFSIGNALED(status) or os.WEXITSTATUS(status) != 0:
        raise InfraError(f"sandbox launcher failed (status {status}): {events}")
    return events


def _interpret(events: list[dict], out_path: str, err_path: str, limits: Limits, wall: float) -> RunResult:
    by = {}
    for ev in events:
        by.setdefault(ev["event"], ev)
    if "error" in by:
        raise InfraError(f"sandbox {by['error']['where']} failed: {by['error']['message']}")
    ns, fs = by.get("ns", {}), by.get("fs", {})
    if fs and not fs.get("ok") and "exit" not in by:
        raise InfraError(f"filesystem confinement failed: {'; '.join(fs.get('errors', []))}")
    iso = {"net": ns.get("net", False), "pid": ns.get("pid", False), "user": ns.get("user", False),
           "fs": bool(fs.get("ok")), "errors": ns.get("errors", []) + fs.get("errors", [])}
    cap = int(limits.output_mb * 1024 * 1024)
    stdout = _read_capped(out_path, cap + 1)
    err = _tail(err_path)
    res = RunResult("ok", "", stdout=stdout, stderr_tail=err, wall_s=wall, isolation=iso)
    if "wall" in by:
        res.status, res.reason = "time_limit", f"wall-clock deadline of {limits.wall_s:.1f} s"
        return res
    ex = by.get("exit")
    if ex is None:
        raise InfraError(f"sandbox reported no exit status: {events}")
    status = ex["status"]
    res.cpu_s, res.maxrss_kb = round(ex["cpu_s"], 4), ex["maxrss_kb"]
    if os.WIFSIGNALED(status):
        res.signal = os.WTERMSIG(status)
    else:
        res.exit_code = os.WEXITSTATUS(status)
    sig_name = signal.Signals(res.signal).name if res.signal else None
    if res.cpu_s > limits.time_limit_s or res.signal == signal.SIGXCPU or (
            res.signal == signal.SIGKILL and res.cpu_s >= math.ceil(limits.time_limit_s + 0.5)):
        # The measured time stays in cpu_s: a reason names only the limit, so reruns give the same text.
        res.status, res.reason = "time_limit", f"CPU time over the {limits.time_limit_s:g} s limit"
    elif len(stdout) >= cap or _size(err_path) >= cap or res.signal == signal.SIGXFSZ or (
            res.exit_code and "File too large" in err):
        res.status, res.reason = "output_limit", f"output reached the {limits.output_mb:g} MB cap"
    elif (res.exit_code or res.signal) and (_MEMORY_PATTERNS.search(err)
                                            or res.maxrss_kb * 1024 >= limits.memory_mb * 1024 * 1024):
        res.status, res.reason = "memory_limit", f"memory limit of {limits.memory_mb} MB"
    elif res.signal:
        res.status, res.reason = "runtime_error", f"killed by {sig_name}"
    elif res.exit_code:
        last = err.strip().splitlines()[-1] if err.strip() else ""
        res.status, res.reason = "runtime_error", f"exit code {res.exit_code}: {last[:200]}"
    return res


_SLOTS: threading.BoundedSemaphore | None = None


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _slots() -> threading.BoundedSemaphore:
    global _SLOTS
    if _SLOTS is None:
        _SLOTS = threading.BoundedSemaphore(cpu_count())
    return _SLOTS


def run_program(source: str, stdin: bytes | str = b"", limits: Limits = Limits(), *,
                python: str | None = None, retries: int = 3, packages: bool = False,
                binds: tuple[str, ...] = ()) -> RunResult:
    """Run `source` once on `stdin`. At most one run per core at a time in this process;
    infrastructure failures are retried, then raised as InfraError. `packages`: see `setup`;
    `binds`: more host folders the program sees read-only (a toolchain: a compiler, a JDK),
    where the filesystem is confined."""
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8")
    st = setup(python, packages)
    if st.fs and binds:
        st = dataclasses.replace(st, binds=st.binds + tuple(os.path.abspath(b) for b in binds))
    if not st.fs and unconfined_policy() == "refuse":
        raise Unconfined(
            "the sandbox cannot confine the filesystem on this machine (" + "; ".join(st.notes) + "), so "
            "model-written code is not run; set sandbox.unconfined: warn in the config to run it with the "
            "weaker isolation recorded in each verdict (docs/cluster.md says what a node must allow)")
    last: Exception | None = None
    for attempt in range(retries):
        with _slots():
            try:
                res = _run_once(source, stdin, limits, st)
                res.isolation["uid_dropped"] = res.uid is not None
                if st.notes:
                    res.isolation["notes"] = list(st.notes)
                return res
            except InfraError as exc:
                last = exc
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.ENOMEM, errno.EMFILE, errno.ENFILE, errno.ENOSPC):
                    raise
                last = InfraError(str(exc))
        time.sleep(0.2 * (attempt + 1))
    raise InfraError(f"sandbox failed {retries} times: {last}")
