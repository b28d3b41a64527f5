"""The trusted side of the sandbox: run as `python -I -S sandbox_launcher.py CONFIG_JSON`.

Standard library only (it starts with -S, before any site-packages), and
importable so `ded.sandbox` can reuse the /proc helpers.

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

Events (JSON lines on fd 3, read by the workflow after P exits):
  {"event": "ns", "net": bool, "pid": bool, "user": bool, "errors": [...]}
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
# /proc helpers (shared with ded.sandbox)


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


def _init(cfg: dict, pidns: bool) -> None:
    """In C: start G, reap everything, report G's exit and rusage. Never returns."""
    if not pidns:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
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
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    errors = []
    net = pid = user = False
    if os.geteuid() != 0 and (cfg.get("netns") or cfg.get("pidns")):
        # Not root: a user namespace (where the kernel allows unprivileged ones)
        # grants the capabilities the network and PID namespaces need.
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
