"""The problems and comparisons the determinism tests share."""

from __future__ import annotations

from pathlib import Path

MATH = [{"id": f"m{i}", "domain": "math", "source": "t", "prompt": f"What is {i} + {i}?", "gold": str(2 * i),
         "gold_kind": "math"} for i in range(3)]

CODE = [{"id": f"c{i}", "domain": "code", "source": "t", "prompt": f"Read n and print n times {i + 2}.",
         "gold": None, "gold_kind": "tests", "time_limit_s": 2.0,
         "tests": [{"input": "3\n", "output": f"{3 * (i + 2)}\n"}, {"input": "5\n", "output": f"{5 * (i + 2)}\n"}]}
        for i in range(2)]

def file_tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

def assert_identical(a: Path, b: Path) -> dict[str, bytes]:
    first, second = file_tree(a), file_tree(b)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    return first
