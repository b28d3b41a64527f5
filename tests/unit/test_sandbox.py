"""The sandbox against hostile programs: each asserts the verdict, the wall time, and that
nothing the program started is left running."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.sandbox import strays

from ded.filter import programs as P
from ded.filter import sandbox as S
from ded.filter import sandbox_launcher as L

TL = 0.5  # CPU seconds; wall deadline = 3 * TL + 1 = 2.5 s
LIMITS = S.Limits(time_limit_s=TL, memory_mb=256, output_mb=1.0)
SLACK = 3.0  # seconds of start-up and cleanup allowed beyond a deadline on a loaded 2-core machine


def run(source: str, stdin: str = "", limits: S.Limits = LIMITS):
    t0 = time.monotonic()
    res = S.run_program(source, stdin, limits)
    wall = time.monotonic() - t0
    assert strays(res) == [], f"processes left behind: {strays(res)}"
    return res, wall


def judged(source: str, tests, **kw) -> dict:
    kw.setdefault("time_limit_s", TL)
    return P.check_program(source, tests, **kw)


def drops_uid() -> bool:
    return S.setup().drop_uid


# --------------------------------------------------------------------------- hostile programs


def test_infinite_loop():
    res, wall = run("while True:\n    pass\n")
    assert res.status == "time_limit"
    assert wall < LIMITS.wall_s + SLACK


def test_sleeping_forever_hits_the_wall_deadline():
    res, wall = run("import time\ntime.sleep(10**6)\n")
    assert res.status == "time_limit" and "wall" in res.reason
    assert LIMITS.wall_s - 0.1 <= wall < LIMITS.wall_s + SLACK


def test_waiting_on_stdin_gets_eof_at_once():
    res, wall = run("import sys\nsys.stdin.read()\ninput()\n", stdin="only line\n")
    assert res.status == "runtime_error" and "EOFError" in res.reason
    assert wall < 2.0


@pytest.mark.skipif(os.geteuid() == 0 and not S.setup().drop_uid,
                    reason="root without an unprivileged uid: RLIMIT_NPROC is not enforced")
def test_fork_bomb_is_bounded_and_killed():
    src = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    res, wall = run(src, limits=S.Limits(time_limit_s=TL, memory_mb=64, nproc=32))
    assert res.status in ("time_limit", "runtime_error", "memory_limit")
    assert wall < LIMITS.wall_s + SLACK + 2


def test_forked_daemon_is_killed_after_the_answer():
    src = ("import os, time\n"
           "if os.fork() == 0:\n"
           "    os.setsid()\n"
           "    if os.fork() == 0:\n"
           "        time.sleep(10**6)\n"
           "    os._exit(0)\n"
           "print(7)\n")
    res, wall = run(src)
    assert res.status == "ok" and res.stdout.split() == [b"7"]
    assert wall < 2.0


def test_grandchild_calling_setsid_is_killed():
    src = ("import subprocess, time\n"
           "subprocess.Popen(['/bin/sh', '-c', 'setsid sleep 100000 & sleep 100000'])\n"
           "time.sleep(0.3)\n"
           "print('done')\n")
    verdict = judged(src, [{"input": "", "output": "done"}])
    assert verdict["verdict"] == "accepted"
    res, wall = run(src)  # and nothing is left
    assert wall < 2.5


def test_printing_forever_hits_the_output_cap():
    res, wall = run("while True:\n    print('x' * 1000)\n")
    assert res.status == "output_limit"
    assert len(res.stdout) <= int(LIMITS.output_mb * 2**20) + 1
    assert wall < 3.0


def test_memory_bomb():
    res, wall = run("x = [0] * 10**9\n")
    assert res.status == "memory_limit"
    assert wall < 3.0


def test_deep_recursion():
    res, wall = run("def f(n):\n    return f(n + 1)\nf(0)\n")
    assert res.status == "runtime_error" and "RecursionError" in res.reason
    assert wall < LIMITS.wall_s + SLACK
    ok = judged("import sys\nsys.setrecursionlimit(10**6)\ndef f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\n"
                "print(f(50000))\n", [{"input": "", "output": "50000"}], memory_mb=512)
    assert ok["verdict"] == "accepted", ok


def test_killing_its_parent_fails_and_the_workflow_survives():
    src = ("import os, signal\n"
           "for pid in (os.getppid(), 1, -1):\n"
           "    try:\n"
           "        os.kill(pid, signal.SIGKILL)\n"
           "    except OSError:\n"
           "        pass\n"
           "print('alive')\n")
    bystander = subprocess.Popen(["sleep", "60"])  # a process of the workflow's user
    try:
        res, wall = run(src)
        # kill(-1) may take the program itself down; what matters is that nothing outside died.
        assert res.status in ("ok", "runtime_error")
        assert bystander.poll() is None, "the program killed a process outside the sandbox"
        assert wall < LIMITS.wall_s + SLACK
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.skipif(not S.setup().drop_uid, reason="needs an unprivileged uid (root with a reachable interpreter)")
def test_files_outside_the_scratch_directory_survive(tmp_path):
    # As an unprivileged uid the program cannot even reach pytest's 0700 folders; the
    # folder and file are opened up so only ownership protects them.
    outside = tmp_path / "outside"
    outside.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(outside, 0o755)
    sentinel = outside / "sentinel.txt"
    sentinel.write_text("keep me")
    os.chmod(sentinel, 0o644)
    src = (f"import os, shutil\n"
           f"p = {str(sentinel)!r}\n"
           f"for act in (lambda: os.remove(p), lambda: open(p, 'w').write('gone'),\n"
           f"            lambda: shutil.rmtree(os.path.dirname(p)), lambda: open(os.path.dirname(p) + '/new', 'w')):\n"
           f"    try:\n"
           f"        act()\n"
           f"    except OSError:\n"
           f"        pass\n"
           f"open('mine.txt', 'w').write('scratch is writable')\n"
           f"print(open('mine.txt').read())\n")
    res, wall = run(src)
    assert res.status == "ok", res.stderr_tail
    assert wall < LIMITS.wall_s + SLACK
    assert sentinel.read_text() == "keep me"
    assert not (outside / "new").exists()
    assert b"scratch is writable" in res.stdout


def test_network_connections_are_refused():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted = []

    def serve():
        t_end = time.monotonic() + 3
        while time.monotonic() < t_end:
            try:
                accepted.append(server.accept())
            except OSError:
                pass

    th = threading.Thread(target=serve)
    th.start()
    src = (f"import socket\n"
           f"ok = 0\n"
           f"for addr in (('127.0.0.1', {port}), ('1.1.1.1', 53)):\n"
           f"    try:\n"
           f"        socket.create_connection(addr, timeout=0.5).close()\n"
           f"        ok += 1\n"
           f"    except OSError:\n"
           f"        pass\n"
           f"print('connected' if ok else 'blocked')\n")
    res, wall = run(src)
    th.join()
    server.close()
    assert wall < LIMITS.wall_s + SLACK
    if not res.isolation.get("net"):
        pytest.skip("no network namespace on this machine: " + "; ".join(res.isolation.get("errors", [])))
    assert res.stdout.split() == [b"blocked"]
    assert accepted == []


def test_exiting_early_before_output():
    tests = [{"input": "1 2\n", "output": "3\n"}]
    t0 = time.monotonic()
    assert judged("import sys\nsys.exit(0)\nprint(3)\n", tests)["verdict"] == "wrong_answer"
    assert judged("import os\nos._exit(3)\n", tests)["verdict"] == "runtime_error"
    assert time.monotonic() - t0 < 2 * SLACK
    res, _ = run("import os\nos._exit(3)\n")  # and nothing is left
    assert res.status == "runtime_error"


def test_object_equal_to_everything_is_still_wrong():
    src = "class A:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\nprint(A())\n"
    t0 = time.monotonic()
    assert judged(src, [{"input": "", "output": "42"}])["verdict"] == "wrong_answer"
    assert time.monotonic() - t0 < SLACK
    res, _ = run(src)  # the comparison sees only the bytes it printed, and nothing is left
    assert res.status == "ok" and res.stdout.startswith(b"<")


def test_long_c_level_call_is_stopped():
    # Catastrophic backtracking: one call into the C regex engine that never returns to Python.
    src = "import re\nre.match(r'(a*)*b', 'a' * 64)\n"
    res, wall = run(src, limits=S.Limits(time_limit_s=TL, memory_mb=1024))
    assert res.status == "time_limit", (res.reason, res.stderr_tail)
    assert wall < LIMITS.wall_s + SLACK


# --------------------------------------------------------------------------- confinement of files


def confinement_programs(secret: str, search_dir: str, sock: str, token: str) -> dict[str, str]:
    """Hostile programs that look for what a confined program must not reach. Each prints one word."""
    return {
        "secret": f"try:\n    print('read', open({secret!r}).read())\nexcept OSError:\n    print('blocked')\n",
        # What a program would do to pass without solving: find the problem's tests on disk.
        # The token is written reversed, so the program's own source does not count as a find.
        "find": (f"import os\nfound = 'none'\ntoken = {token[::-1]!r}[::-1]\n"
                 f"for top in ({search_dir!r}, '/tmp', '/var/tmp', '/dev/shm', '/home', '/work', '/run'):\n"
                 f"    for d, _, files in os.walk(top):\n"
                 f"        for f in files:\n"
                 f"            try:\n"
                 f"                if token in open(os.path.join(d, f), errors='replace').read(1 << 20):\n"
                 f"                    found = token\n"
                 f"            except OSError:\n"
                 f"                pass\n"
                 f"print(found)\n"),
        "persist": (f"import os, tempfile\nok = 0\n"
                    f"for d in ('/dev/shm', '/tmp', '/var/tmp', tempfile.gettempdir(), os.path.expanduser('~')):\n"
                    f"    try:\n"
                    f"        open(os.path.join(d, {token!r}), 'w').write('x' * 1000)\n"
                    f"        ok += 1\n"
                    f"    except OSError:\n"
                    f"        pass\n"
                    f"print('wrote', ok)\n"),
        "socket": (f"import socket\ns = socket.socket(socket.AF_UNIX)\n"
                   f"for path in ({sock!r}, '/dev/log', '/run/systemd/journal/socket'):\n"
                   f"    try:\n"
                   f"        s.connect(path)\n"
                   f"        print('connected')\n"
                   f"        break\n"
                   f"    except OSError:\n"
                   f"        pass\n"
                   f"else:\n"
                   f"    print('blocked')\n"),
        "readonly": ("import os, sys\nbad = []\n"
                     "for p in ('/usr/x', '/etc/x', '/x', os.path.dirname(sys.executable) + '/x'):\n"
                     "    try:\n        open(p, 'w')\n        bad.append(p)\n    except OSError:\n        pass\n"
                     "print(bad or 'readonly')\n"),
        "sysexe": ("import subprocess, sys\n"
                   "print(subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True,"
                   " text=True).stdout.strip())\n"),
        "flood": "import sys\nfor _ in range(10**6):\n    sys.stderr.write('x' * 10**4)\n",
    }


def assert_confined(out: dict[str, dict], token: str, leftovers: list[str]) -> None:
    """What every confined run must show, whichever user ran the workflow."""
    for name, res in out.items():
        assert res["iso"].get("fs"), (name, res["iso"])
    assert out["secret"]["stdout"].split() == ["blocked"], out["secret"]
    assert out["find"]["stdout"].split() == ["none"], out["find"]
    assert out["persist"]["status"] == "ok" and out["persist"]["stdout"].split() == ["wrote", "5"], out["persist"]
    assert out["socket"]["stdout"].split() == ["blocked"], out["socket"]
    assert out["readonly"]["stdout"].split() == ["readonly"], out["readonly"]
    assert out["sysexe"]["stdout"].split() == ["42"], out["sysexe"]
    assert out["flood"]["status"] == "output_limit", out["flood"]
    assert leftovers == [], f"files the program wrote outlived it: {leftovers}"


def _leftovers(token: str) -> list[str]:
    import tempfile

    dirs = {"/dev/shm", "/tmp", "/var/tmp", tempfile.gettempdir()}
    return [os.path.join(d, token) for d in sorted(dirs) if os.path.exists(os.path.join(d, token))]


def _listening_socket(folder: Path) -> socket.socket:
    """A path socket anyone may connect to, like /dev/log or a session bus on a compute node."""
    folder.mkdir(mode=0o777, exist_ok=True)
    os.chmod(folder, 0o777)
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(folder / "bus"))
    os.chmod(folder / "bus", 0o777)
    srv.listen(8)
    return srv


def _open_up(path: Path) -> None:
    """Let any user walk down to `path`, so only the sandbox stands between it and the program."""
    for parent in [path, *path.parents]:
        if parent == Path("/"):
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o011)


@pytest.mark.skipif(not S.setup().fs, reason="no mount namespace on this machine: " + "; ".join(S.setup().notes))
def test_program_sees_no_file_of_the_workflow_and_leaves_nothing(tmp_path):
    token = "ded" + os.urandom(8).hex()
    _open_up(tmp_path)
    secret = tmp_path / "id_ed25519"
    secret.write_text("PRIVATE KEY")
    os.chmod(secret, 0o600)
    (tmp_path / "problems.jsonl").write_text(json.dumps({"tests": [{"input": "", "output": token}]}) + "\n")
    os.chmod(tmp_path / "problems.jsonl", 0o644)
    srv = _listening_socket(tmp_path / "sock")
    try:
        progs = confinement_programs(str(secret), str(tmp_path), str(tmp_path / "sock" / "bus"), token)
        out = {}
        for name, src in progs.items():
            res, wall = run(src, limits=S.Limits(time_limit_s=2, memory_mb=256, output_mb=1.0))
            out[name] = {"status": res.status, "stdout": res.stdout.decode(), "iso": res.isolation}
            assert wall < 2 * 3 + 1 + SLACK
        # And through the judge: it cannot find its own expected output.
        verdict = judged(progs["find"], [{"input": "", "output": token}], time_limit_s=2)
        assert verdict["verdict"] == "wrong_answer" and verdict["isolation"]["fs"], verdict
    finally:
        srv.close()
    assert_confined(out, token, _leftovers(token))


@pytest.mark.skipif(not S.setup().fs, reason="no mount namespace on this machine")
def test_string_hashing_is_the_same_in_every_run():
    # A program printing a set of strings must give the same verdict every time it is judged.
    src = "print(*{'apple', 'pear', 'fig', 'kiwi', 'plum', 'lime', 'date'})\n"
    outs = {run(src)[0].stdout for _ in range(3)}
    assert len(outs) == 1, outs

def test_unconfined_machines_refuse_by_default_and_warn_when_told(monkeypatch, caplog):
    python = sys.executable
    weak = S.Setup(python, python, False, S.UID_BASE, S.UID_COUNT, ("no filesystem confinement: test",))
    monkeypatch.setitem(S._SETUP, python, weak)
    monkeypatch.delenv(S.UNCONFINED_ENV, raising=False)
    with pytest.raises(S.Unconfined, match="sandbox.unconfined"):
        S.run_program("print(1)", "", LIMITS)
    with pytest.raises(S.Unconfined):  # the judge does not turn it into a verdict: the job stops
        judged("print(1)", [{"input": "", "output": "1"}])
    monkeypatch.setenv(S.UNCONFINED_ENV, "warn")
    v = judged("print(1)", [{"input": "", "output": "1"}])
    assert v["verdict"] == "accepted" and v["isolation"]["fs"] is False
    monkeypatch.setenv(S.UNCONFINED_ENV, "maybe")
    with pytest.raises(S.Unconfined, match="refuse, warn"):
        S.run_program("print(1)", "", LIMITS)


# --------------------------------------------------------------------------- verdicts and idioms


@pytest.mark.parametrize("src", [
    "a, b = map(int, input().split())\nprint(a + b)\n",
    "import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)\n",
    "import sys\na, b = map(int, sys.stdin.buffer.read().split())\nsys.stdout.buffer.write(b'%d\\n' % (a + b))\n",
    "a, b = map(int, open(0).read().split())\nprint(a + b, end='')\n",
    "import sys\nfor line in sys.stdin:\n    print(sum(map(int, line.split())))\n",
    "import sys\ninput = sys.stdin.readline\na, b = map(int, input().split())\nsys.stdout.write(str(a + b) + '\\n')\n",
])
def test_every_stdio_idiom_works(src):
    v = judged(src, [{"input": "2 3\n", "output": "5\n"}, {"input": "10 -4", "output": "6"}], time_limit_s=2)
    assert v["verdict"] == "accepted", v


def test_compile_error_and_no_code():
    assert judged("print(1\n", [{"input": "", "output": "1"}])["verdict"] == "compile_error"
    assert judged(None, [{"input": "", "output": "1"}])["verdict"] == "no_code"


def test_extract_code_takes_the_last_python_block():
    ans = "First:\n```python\nprint(1)\n```\nthen\n```\nplain\n```\nfinally\n```python\nprint(2)\n```\n"
    assert P.extract_code(ans).strip() == "print(2)"
    assert P.extract_code("```\nprint(3)\n```").strip() == "print(3)"
    assert P.extract_code("no code") is None


def test_compare_output_like_codeforces():
    assert P.compare_output("1 2\n3\n", "1   2 3  \n\n")[0]
    assert not P.compare_output("1 2", "1 2 3")[0]
    assert P.compare_output("0.3333333", "0.33333334", 1e-6)[0]
    assert not P.compare_output("0.3333", "0.3400", 1e-6)[0]
    assert P.compare_output("1000000.0", "1000000.5", 1e-6)[0]  # relative
    assert not P.compare_output("3", "3.0", 1e-6)[0]  # integers match exactly
    assert not P.compare_output("0.5", "0.5000001", None)[0]  # tolerance off
    assert not P.compare_output("YES", "yes")[0]


def test_parallel_runs_beyond_the_core_count_are_not_false_time_limits():
    src = "s = 0\nfor i in range(3 * 10**6):\n    s += i\nprint(s)\n"
    expected = str(sum(range(3 * 10**6)))
    with ThreadPoolExecutor(3 * S.cpu_count()) as ex:
        verdicts = list(ex.map(lambda _: judged(src, [{"input": "", "output": expected}], time_limit_s=2),
                               range(3 * S.cpu_count())))
    assert [v["verdict"] for v in verdicts] == ["accepted"] * len(verdicts), verdicts


def test_infra_errors_are_their_own_verdict():
    v = P.check_program("print(1)", [{"input": "", "output": "1"}], python="/nonexistent/python")
    assert v["verdict"] == "infra_error"


# --------------------------------------------------------------------------- not root


NOBODY = 65534
_AS_USER = r"""
import json, socket, subprocess, sys
from ded.filter import programs as P
from ded.filter import sandbox as S
lim = S.Limits(time_limit_s=0.5, memory_mb=256, output_mb=1.0)
# A process of the same user outside the sandbox: kill(-1) inside must not reach it.
bystander = subprocess.Popen(["sleep", "60"])
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
port = server.getsockname()[1]
progs = {
    "kill": "import os, signal\nfor pid in (os.getppid(), 1, -1):\n    try:\n        os.kill(pid, signal.SIGKILL)\n"
            "    except OSError:\n        pass\nprint('alive')\n",
    "net": "import socket\ntry:\n    socket.create_connection(('127.0.0.1', %d), timeout=0.5)\n    print('connected')\n"
           "except OSError:\n    print('blocked')\n" % port,
    "daemon": "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(10**6)\n"
              "    os._exit(0)\nprint(7)\n",
    "loop": "while True:\n    pass\n",
}
progs.update(json.loads(sys.argv[1]))
out = {}
for name, src in progs.items():
    res = S.run_program(src, "", lim)
    out[name] = {"status": res.status, "stdout": res.stdout.decode(), "iso": res.isolation, "token": res.token,
                 "wall": res.wall_s}
out["bystander_alive"] = bystander.poll() is None
bystander.kill()
print(json.dumps(out))
"""


def _interpreter_for_anyone() -> str | None:
    """A binary of this Python version that an unprivileged user can run (a venv's interpreter may
    link into a folder only root can enter); the programs below need only the standard library."""
    import shutil

    ver = "%d.%d" % sys.version_info[:2]
    for cand in (os.path.realpath(sys.executable), shutil.which(f"python{ver}", path="/usr/local/bin:/usr/bin:/bin")):
        if cand and all(os.stat(p).st_mode & 0o001 for p in [Path(cand), *Path(cand).parents]):
            return cand
    return None


def _run_as_nobody(code: str, *args: str) -> subprocess.CompletedProcess:
    exe = _interpreter_for_anyone()
    if exe is None:
        raise PermissionError(f"no Python {sys.version_info[:2]} that uid {NOBODY} may run")
    root = Path(__file__).resolve().parents[2]
    code = f"import sys\nsys.executable = {exe!r}\n" + code
    return subprocess.run([exe, "-c", code, *args], user=NOBODY, group=NOBODY, extra_groups=[], cwd="/",
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "HOME": "/tmp",
                               S.UNCONFINED_ENV: "warn"},  # where namespaces are off, the test skips
                          capture_output=True, text=True, timeout=180)


@pytest.mark.skipif(os.geteuid() != 0, reason="switches to an unprivileged user, which needs root")
def test_unprivileged_runs_get_user_pid_network_and_mount_namespaces(tmp_path):
    """What a SLURM job sees: not root, yet the program cannot signal the workflow, reach the
    network, read the user's files or leave anything behind."""
    try:
        probe = _run_as_nobody("import ded.filter.sandbox")
    except PermissionError as exc:
        pytest.skip(str(exc))
    if probe.returncode != 0:
        pytest.skip(f"the interpreter or the checkout is not readable by uid {NOBODY}: {probe.stderr[-300:]}")
    token = "ded" + os.urandom(8).hex()
    _open_up(tmp_path)
    os.chown(tmp_path, NOBODY, NOBODY)
    secret = tmp_path / "id_ed25519"  # the invoking user's own private file
    secret.write_text("PRIVATE KEY")
    os.chmod(secret, 0o600)
    os.chown(secret, NOBODY, NOBODY)
    (tmp_path / "problems.jsonl").write_text(json.dumps({"tests": [{"input": "", "output": token}]}) + "\n")
    srv = _listening_socket(tmp_path / "sock")
    try:
        extra = confinement_programs(str(secret), str(tmp_path), str(tmp_path / "sock" / "bus"), token)
        proc = _run_as_nobody(_AS_USER, json.dumps(extra))
    finally:
        srv.close()
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if not out["kill"]["iso"].get("user"):
        pytest.skip("unprivileged user namespaces are disabled here: " + "; ".join(out["kill"]["iso"]["errors"]))
    assert_confined({k: out[k] for k in extra}, token, _leftovers(token))
    for name in ("kill", "net", "daemon", "loop"):
        assert out[name]["iso"]["pid"] and out[name]["iso"]["net"] and out[name]["iso"]["fs"], out[name]["iso"]
    assert out["bystander_alive"], "kill(-1) in the sandbox reached a process outside it"
    assert out["kill"]["status"] in ("ok", "runtime_error")
    assert out["net"]["stdout"].split() == ["blocked"]
    assert out["daemon"]["status"] == "ok" and out["daemon"]["stdout"].split() == ["7"]
    assert out["loop"]["status"] == "time_limit" and out["loop"]["wall"] < LIMITS.wall_s + SLACK
    for name in progs_tokens(out):
        needle = f"DED_SANDBOX_RUN={name}".encode()
        for pid in L.all_pids():
            try:
                with open(f"/proc/{pid}/environ", "rb") as fh:
                    assert needle not in fh.read().split(b"\0"), f"process {pid} left behind"
            except OSError:
                continue


def progs_tokens(out: dict) -> list[str]:
    return [v["token"] for v in out.values() if isinstance(v, dict)]
