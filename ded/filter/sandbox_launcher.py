"""The trusted side of the sandbox: run as `python -I -S sandbox_launcher.py CONFIG_JSON`.

Standard library only (it starts with -S, before any site-packages), and
importable so `ded.filter.sandbox` can reuse the /proc helpers.

Process tree, from the workflow process down:

    workflow ── P (this script, own session, child subreaper; when not root,
                 │   in a user namespace of its own so it may create the others)
                 └─ C (PID 1 of a new PID namespace when unshare works)
                     └─ G (the untrusted program: rlimits, unprivileged uid, scratch cwd)

Why three processes:
- P enforces the wall-clock deadline and, being a child subreaper, inherits
  every orphan below it, so a final scan of its descendants (by parent pid)
  finds even grandchildren that called setsid() or double-forked.
- C, as init of a PID namespace, reaps orphans inside it (PID 1 of this
  machine does not reap, so zombies would otherwise pile up), and when C
  exits the kernel kills everything left in the namespace: nothing escapes.
- G is the only process that runs untrusted code; it reports nothing itself.
  C measures G's CPU time and peak memory with wait4 and writes them to fd 3.

Filesystem confinement (`cfg["fs"]`): C enters a mount namespace of its own
(inside the user namespace when not root, where bind mounts and tmpfs need no
privilege), builds a root on a tmpfs and pivots into it before starting G:
the system folders and the interpreter's prefix bound read-only, an empty
private home and private tmpfs over /tmp, /var/tmp, /dev/shm and /run (one
size-capped tmpfs shared by all five), a /dev with only null, zero, full,
random and urandom, and a fresh /proc of the PID namespace; the
interpreter's site-packages folders (`cfg["fs"]["hide"]`) look empty.
Nothing of the workflow's folder, the user's home or the job's files is
reachable; the tests reach the program only through stdin, and everything it
writes dies with the namespace. Path sockets (/dev/log, /run/...) are gone with the old
root. Where any step fails, C reports it and either stops before G starts
(`cfg["fs"]["required"]`) or runs G in the old scratch folder.

Events (JSON lines on fd 3, read by the workflow after P exits):
  {"event": "ns", "net": bool, "pid": bool, "user": bool, "errors": [...]}
  {"event": "fs", "ok": bool, "proc": bool, "errors": [...]}   filesystem confinement, from C
  {"event": "exit", "status": int, "cpu_s": float, "maxrss_kb": int}
  {"event": "wall"}                       the deadline passed; everything was killed
  {"event": "error", "where": str, "message": str}   the launcher itself failed
  {"event": "cleanup", "killed": int}     processes left behind and killed by P
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2
#: statvfs flags a read-only remount must repeat: inside a user namespace the
#: kernel refuses to clear flags the original mount was locked with.
_LOCKED = ((2, MS_NOSUID), (4, MS_NODEV), (8, MS_NOEXEC), (1024, MS_NOATIME), (2048, MS_NODIRATIME),
           (4096, MS_RELATIME))
#: pivot_root(2) has no libc wrapper; its syscall number by machine.
PIVOT_ROOT_NR = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "ppc64": 203, "s390x": 217}

#: Where the program lives inside its root, and the writable places it gets.
HOME = "/sandbox"
WRITABLE = ((HOME, 0o700), ("/tmp", 0o1777), ("/var/tmp", 0o1777), ("/dev/shm", 0o1777), ("/run", 0o755))
DEVICES = ("null", "zero", "full", "random", "urandom")

STATUS_FD = 3


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def unshare(flags: int) -> str | None:
    """unshare(2); None on success, else the error text (Python 3.11 has no os.unshare)."""
    if hasattr(os, "unshare"):
        try:
            os.unshare(flags)
            return None
        except OSError as exc:
            return str(exc)
    import ctypes

    libc = _libc()
    if libc.unshare(ctypes.c_int(flags)) != 0:
        err = ctypes.get_errno()
        return f"[Errno {err}] {os.strerror(err)}"
    return None


def enter_user_namespace() -> str | None:
    """Move this process into a new user namespace that maps only its own uid and gid.

    The program keeps the invoking user's identity (files in its scratch
    directory stay that user's), gains no access it did not have, and the
    namespace lets an unprivileged launcher create network and PID namespaces.
    None on success, else the error text."""
    uid, gid = os.geteuid(), os.getegid()
    err = unshare(CLONE_NEWUSER)
    if err:
        return err
    try:
        # setgroups must be denied before an unprivileged process may write gid_map.
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as fh:
                fh.write(text)
    except OSError as exc:
        return f"id maps: {exc}"
    return None


def prctl(option: int, arg: int) -> bool:
    import ctypes

    return _libc().prctl(ctypes.c_int(option), ctypes.c_ulong(arg), 0, 0, 0) == 0


# --------------------------------------------------------------------------
# Filesystem confinement (in C, before G starts)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    import ctypes

    enc = lambda v: v.encode() if v is not None else None  # noqa: E731
    _check(_libc().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def umount_detach(target: str) -> None:
    _check(_libc().umount2(target.encode(), MNT_DETACH), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    import platform

    nr = PIVOT_ROOT_NR.get(platform.machine())
    if nr is None:
        raise OSError(0, f"pivot_root: syscall number unknown on {platform.machine()}")
    _check(_libc().syscall(nr, new_root.encode(), put_old.encode()), "pivot_root")


def _locked_flags(path: str) -> int:
    got = os.statvfs(path).f_flag
    return sum(ms for st, ms in _LOCKED if got & st)


def _unescape_mountinfo(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash in octal.
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mountpoints_under(path: str) -> list[str]:
    """Mount points at or below `path` in this mount namespace, outermost first."""
    with open("/proc/self/mountinfo") as fh:
        points = [_unescape_mountinfo(line.split()[4]) for line in fh if line.strip()]
    return sorted({p for p in points if p == path or p.startswith(path.rstrip("/") + "/")}, key=len)


def bind_read_only(source: str, target: str) -> None:
    """Bind `source` (and the mounts below it) at `target`, every one of them read-only and nosuid."""
    mount(source, target, None, MS_BIND | MS_REC)
    for point in mountpoints_under(target):
        mount(None, point, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | _locked_flags(point))


def _place(root: str, path: str, kind: str) -> str:
    """Create `path` inside `root` as an empty directory or file, with 0755 parents; return it."""
    inner = root + path
    os.makedirs(inner if kind == "dir" else os.path.dirname(inner), mode=0o755, exist_ok=True)
    if kind == "file" and not os.path.exists(inner):
        open(inner, "w").close()
    return inner


def build_root(fs: dict, uid: int | None) -> bool:
    """Pivot this process (C) into a fresh root; True if /proc could be mounted in it."""
    root = fs["root"]
    with open(fs["program"], encoding="utf-8") as fh:
        source = fh.read()
    err = unshare(CLONE_NEWNS)
    if err:
        raise OSError(0, f"mount namespace: {err}")
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing below propagates back to the host
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,nr_inodes=4096,mode=0755")
    # One size-capped tmpfs behind every writable place, so their total is bounded. Mounted before the
    # read-only binds, so a bound folder under one of them (a venv in /tmp) stays in sight above it.
    stage = _place(root, "/.writable", "dir")
    mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(fs['disk_mb'])}m,mode=0755")
    for i, (path, mode) in enumerate(WRITABLE):
        part = os.path.join(stage, str(i))
        os.mkdir(part)
        os.chmod(part, mode)
        if path == HOME:
            with open(os.path.join(part, "main.py"), "w", encoding="utf-8") as fh:
                fh.write(source)
            os.chmod(os.path.join(part, "main.py"), 0o444)
            if uid is not None:
                os.chown(part, uid, uid)
        mount(part, _place(root, path, "dir"), None, MS_BIND)
    umount_detach(stage)
    os.rmdir(stage)
    for path in fs["binds"]:
        if os.path.islink(path) and os.path.dirname(path) == "/":
            os.symlink(os.readlink(path), root + path)  # /bin -> usr/bin and the like
        elif os.path.isdir(path):
            bind_read_only(path, _place(root, path, "dir"))
        elif os.path.isfile(path):
            bind_read_only(path, _place(root, path, "file"))
    for path in fs.get("hide", ()):
        if os.path.isdir(root + path):
            mount("tmpfs", root + path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0755")
    for name in DEVICES:
        mount(f"/dev/{name}", _place(root, f"/dev/{name}", "file"), None, MS_BIND)
    for name, dest in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                       ("stderr", "/proc/self/fd/2")):
        os.symlink(dest, f"{root}/dev/{name}")
    has_proc = True
    try:
        mount("proc", _place(root, "/proc", "dir"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:
        has_proc = False  # some containers mask /proc; programs rarely need it
    os.mkdir(root + "/.old")
    pivot_root(root, root + "/.old")
    os.chdir("/")
    umount_detach("/.old")
    os.rmdir("/.old")
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return has_proc


# --------------------------------------------------------------------------
# /proc helpers (shared with ded.filter.sandbox)


def proc_stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, ppid, pgrp, session) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'.
    rest = data[data.rfind(b")") + 2:].split()
    try:
        return rest[0].decode(), int(rest[1]), int(rest[2]), int(rest[3])
    except (IndexError, ValueError):
        return None


def proc_uid(pid: int) -> int | None:
    """Real uid of a process from /proc/<pid>/status (reliable even for non-dumpable processes)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def descendants(root: int) -> list[int]:
    """Live (non-zombie) descendants of `root`, by walking parent pids in /proc."""
    children: dict[int, list[int]] = {}
    states: dict[int, str] = {}
    for pid in all_pids():
        st = proc_stat(pid)
        if st is None:
            continue
        states[pid] = st[0]
        children.setdefault(st[1], []).append(pid)
    out, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            stack.append(child)
            if states.get(child) != "Z":
                out.append(child)
    return out


def pids_of_uid(uid: int, include_zombies: bool = False) -> list[int]:
    out = []
    for pid in all_pids():
        if proc_uid(pid) == uid:
            if not include_zombies:
                st = proc_stat(pid)
                if st is None or st[0] == "Z":
                    continue
            out.append(pid)
    return out


def kill_pid(pid: int, check=None) -> bool:
    """SIGKILL through a pidfd, so a recycled pid is never hit; `check(pid)` re-validates after opening."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        if check is not None and not check(pid):
            return False
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def reap_nohang() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_descendants(root: int, budget_s: float = 10.0) -> int:
    """Kill every descendant of `root` (this process, a subreaper), reaping as they die."""
    killed = 0
    deadline = time.monotonic() + budget_s
    delay = 0.0005
    while time.monotonic() < deadline:
        victims = descendants(root)
        if not victims:
            break
        for pid in victims:
            killed += kill_pid(pid)
        if root == os.getpid():
            reap_nohang()
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    if root == os.getpid():
        reap_nohang()
    return killed


# --------------------------------------------------------------------------


def _report(**event) -> None:
    try:
        os.write(STATUS_FD, (json.dumps(event) + "\n").encode())
    except OSError:
        pass


def _become_program(cfg: dict) -> None:
    """In G: limits, privileges, cwd, then exec the untrusted program. Never returns."""
    import resource

    try:
        prctl(PR_SET_NO_NEW_PRIVS, 1)  # setuid binaries in the read-only system stay powerless
        os.set_inheritable(STATUS_FD, False)  # G must not hold the status pipe
        for name, (soft, hard) in cfg["rlimits"].items():
            resource.setrlimit(getattr(resource, name), (soft, hard))
        if cfg.get("uid") is not None:
            os.setgroups([])
            os.setgid(cfg["gid"])
            os.setuid(cfg["uid"])
        os.chdir(cfg["cwd"])
        os.umask(0o077)
        # Signals the workflow process ignored would otherwise stay ignored.
        for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)
        os.execve(cfg.get("exe") or cfg["argv"][0], cfg["argv"], cfg["env"])
    except BaseException as exc:  # noqa: BLE001 - any failure here is an infrastructure failure
        _report(event="error", where="exec", message=f"{type(exc).__name__}: {exc}")
        os._exit(127)


def _confine(cfg: dict) -> dict:
    """In C: build the program's root when asked; the config G runs with. Exits when confinement
    is required and cannot be had."""
    fs = cfg.get("fs")
    if not fs:
        return cfg
    try:
        has_proc = build_root(fs, cfg.get("uid"))
    except OSError as exc:
        _report(event="fs", ok=False, proc=False, errors=[str(exc)])
        if fs.get("required"):
            os._exit(0)  # G never starts; the workflow reads the fs event and refuses
        return cfg
    _report(event="fs", ok=True, proc=has_proc, errors=[])
    # The program's own processes must not read C's memory or open its files through /proc.
    prctl(PR_SET_DUMPABLE, 0)
    return {**cfg, "cwd": HOME, "argv": [cfg["argv"][0], *cfg["argv"][1:-1], f"{HOME}/main.py"]}


def _init(cfg: dict, pidns: bool) -> None:
    """In C: confine, start G, reap everything, report G's exit and rusage. Never returns."""
    if not pidns:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
    cfg = _confine(cfg)
    try:
        g = os.fork()
    except OSError as exc:
        _report(event="error", where="fork", message=str(exc))
        os._exit(1)
    if g == 0:
        _become_program(cfg)
    while True:
        try:
            pid, status, ru = os.wait4(-1, 0)
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
        if pid == g:
            _report(event="exit", status=status, cpu_s=ru.ru_utime + ru.ru_stime, maxrss_kb=ru.ru_maxrss)
            break
    # With a PID namespace, exiting kills and reaps the rest; without one P cleans up.
    os._exit(0)


def main(argv: list[str]) -> int:
    cfg = json.loads(argv[1])
    if cfg.get("fs"):
        import ctypes  # noqa: F401 - loaded now: after the pivot the standard library is out of reach
        import platform  # noqa: F401
        import resource  # noqa: F401

        _libc()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    errors = []
    net = pid = user = False
    if os.geteuid() != 0 and (cfg.get("netns") or cfg.get("pidns") or cfg.get("fs")):
        # Not root: a user namespace (where the kernel allows unprivileged ones)
        # grants the capabilities the network, PID and mount namespaces need.
        err = enter_user_namespace()
        user = err is None
        if err:
            errors.append(f"user namespace: {err}")
    if cfg.get("netns"):
        err = unshare(CLONE_NEWNET)
        net = err is None
        if err:
            errors.append(f"network namespace: {err}")
    if cfg.get("pidns"):
        err = unshare(CLONE_NEWPID)
        pid = err is None
        if err:
            errors.append(f"pid namespace: {err}")
    _report(event="ns", net=net, pid=pid, user=user, errors=errors)
    try:
        c = os.fork()
    except OSError as exc:
        _report(event="error", where="fork", message=str(exc))
        return 1
    if c == 0:
        _init(cfg, pid)
    wall_s = float(cfg["wall_s"])
    pidfd = os.pidfd_open(c)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    end = time.monotonic() + wall_s
    timed_out = True
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        if poller.poll(left * 1000):
            timed_out = False
            break
    if timed_out:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)  # as init of the namespace, takes all with it
        _report(event="wall")
    os.waitpid(c, 0)
    os.close(pidfd)
    killed = kill_descendants(os.getpid())
    if killed:
        _report(event="cleanup", killed=killed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
