"""`python -m ded --help` and `--version` speak to a user: every option and command says what it does."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import ded
from ded import __main__ as cli

ROOT = Path(__file__).resolve().parents[2]


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(words, parser, action) for every action of the parser tree, subcommands included."""
    for action in parser._actions:
        yield path, parser, action
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, (*path, name))


def test_every_option_and_command_has_help():
    missing = []
    for path, _, action in walk(cli.build_parser()):
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            missing += [" ".join((*path, name)) for name in action.choices if not (helps.get(name) or "").strip()]
        elif not (action.help or "").strip():
            missing.append(" ".join((*path, action.option_strings[0] if action.option_strings else action.dest)))
    assert not missing, f"without help: {missing}"


def test_every_help_page_renders():
    """A stray % in a help text only fails when the page is formatted."""
    parsers = {id(p): p for _, p, _ in walk(cli.build_parser())}
    for parser in parsers.values():
        assert parser.format_help().strip()


def test_top_level_help_is_for_users():
    text = cli.build_parser().format_help()
    for developer_wording in ("add_parser", "not built", "registers"):
        assert developer_wording not in text
    for command in cli.STAGES:
        assert f"\n    {command} " in text, command
    assert "seeds, benchmark, decontaminate" in text  # a stage's commands on its line


def test_version_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert ded.__version__ == project["version"]


def test_version_prints_the_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ded {ded.__version__}")
    assert out.count("\n") == 1


def test_version_without_git_is_the_version_alone(monkeypatch):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    from ded import provenance

    monkeypatch.setattr(provenance.subprocess, "run", no_git)
    assert cli.version_text() == f"ded {ded.__version__}"


def test_version_names_the_commit_in_a_checkout():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git cannot describe this checkout")
    assert cli.version_text() == f"ded {ded.__version__} (git {commit})"


def test_serve_is_a_command_with_the_servers_options(capsys):
    """`python -m ded serve` and `python -m ded.sample.serve` are one command with one error path."""
    from ded.sample import serve

    for main in (lambda argv: cli.main(["serve", *argv]), serve.main):
        with pytest.raises(SystemExit) as exit_:
            main(["--port", "0"])
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == ["ded serve: error: the following arguments are required: --model-path (see --help)"]


def test_module_help_runs_in_a_fresh_interpreter():
    proc = subprocess.run([sys.executable, "-m", "ded", "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: python -m ded")
