"""The Snakemake files themselves: `snakemake --lint` finds nothing, and snakefmt leaves them as they are."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_snakemake_lint_finds_nothing():
    """Functions live in rules/common.smk (none beside rules), paths are composed without `+` or a leading "/"."""
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint", "--cores", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    # Snakemake prints a "Lints for ..." section per file or rule with findings, and then exits 1.
    assert "Lints for" not in out, out[-5000:]
    assert proc.returncode == 0, out[-5000:]


def test_snakefiles_are_formatted():
    """The Snakefile and rules/*.smk as snakefmt writes them ([tool.snakefmt] in pyproject.toml)."""
    proc = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "Snakefile", "rules"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        "run `snakefmt Snakefile rules` to format the Snakemake files\n" + (proc.stdout + proc.stderr)[-5000:])
