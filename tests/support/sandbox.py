"""What the sandbox tests share: the processes a confined run left behind."""

from __future__ import annotations

from ded.filter import sandbox as S
from ded.filter import sandbox_launcher as L


def strays(res: S.RunResult) -> list[int]:
    """Processes the run left: any process of its uid (zombies included), or carrying its token."""
    left = set(L.pids_of_uid(res.uid, include_zombies=True)) if res.uid is not None else set()
    needle = f"DED_SANDBOX_RUN={res.token}".encode()
    for pid in L.all_pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    left.add(pid)
        except OSError:
            continue
    return sorted(left)
