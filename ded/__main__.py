"""`python -m ded <stage> ...`: each stage's library function outside Snakemake.

Developer notes (not printed by --help, whose text is DESCRIPTION): each module
in STAGES registers its subcommands through `add_parser(subparsers)`; every
option has a `help=`, which tests/unit/test_cli_help.py checks over the whole
parser tree. A bad input ends the command with one line on stderr naming the
file, line and field, and exit status 2; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import EXIT_ERROR, EXIT_INTERRUPTED, describe, one_line

#: command name -> module providing add_parser(subparsers); all but `serve` are stages of the workflow
STAGES = {
    "data": "ded.data.cli",
    "sample": "ded.sample.cli",
    "filter": "ded.filter.cli",
    "select": "ded.select.cli",
    "train": "ded.train.cli",
    "evaluate": "ded.evaluate.cli",
    "analysis": "ded.analysis.cli",
    "plan": "ded.plan.cli",
    "serve": "ded.sample.serve",
}

DESCRIPTION = """\
DED (data-efficient distillation of reasoning) is a Snakemake workflow. This
command runs one stage's library function outside Snakemake, on files you
name: the same code a workflow rule calls, reading and writing JSONL records
(one JSON object per line; ded/records.py lists their fields), so that a
stage can be tried or debugged on a few records."""

EPILOG_TAIL = """\
Each command's --help lists its options, e.g. `python -m ded data seeds --help`.
A bad input ends a command with one line on stderr naming the file, line and
field (exit status 2); --debug shows the Python traceback instead."""


def git_commit() -> str | None:
    """`git describe --always --dirty` of the workflow's checkout; None without git or a checkout."""
    from .provenance import workflow_commit

    return workflow_commit()["describe"]


def version_text() -> str:
    """'ded 0.1.0 (git f21530f)': the workflow's version and, when known, its commit."""
    commit = git_commit()
    return f"ded {__version__}" + (f" (git {commit})" if commit else "")


class VersionAction(argparse.Action):
    """--version, worked out only when asked for (it runs git)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit(0)


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line too, like every other failure.

    Subcommand parsers are made with the parent's class, so one class covers every stage.
    """

    @property
    def command(self) -> str:
        """'ded data seeds': the words that prefix this command's error lines."""
        return self.prog.removeprefix("python -m ")

    def error(self, message: str):
        self.exit(EXIT_ERROR, f"{self.command}: error: {one_line(message)} (see --help)\n")


def subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    """The parser's subcommands, if it has any."""
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def commands_epilog(sub: argparse._SubParsersAction) -> str:
    """One line per stage with its commands, from the parser tree itself (so it cannot go stale)."""
    lines, single = ["commands of each stage:"], []
    for name, stage in sub.choices.items():
        inner = subparsers(stage)
        if inner is not None:
            lines.append(f"  {name:<10} {', '.join(inner.choices)}")
        else:
            single.append(name)
    if single:
        lines.append(f"  ({', '.join(single)}: one command each)")
    return "\n".join(lines) + "\n\n" + EPILOG_TAIL


def build_parser() -> Parser:
    parser = Parser(prog="python -m ded", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=VersionAction,
                        help="print the workflow's version (and git commit, in a checkout) and exit")
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of a failure instead of one line")
    # Not "stage": `train --stage` has that name.
    sub = parser.add_subparsers(dest="ded_stage", metavar="COMMAND", required=True,
                                title="commands", description="a stage of the workflow, or the local server")
    for module in STAGES.values():
        importlib.import_module(module).add_parser(sub)
    parser.epilog = commands_epilog(sub)
    return parser


def chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)parser of the command that ran, e.g. the one of `data seeds`."""
    while True:
        action = subparsers(parser)
        chosen = getattr(args, action.dest, None) if action is not None else None
        if chosen is None:
            return parser
        parser = action.choices[chosen]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"{chosen_parser(parser, args).command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        message = None if args.debug else describe(exc)
        if message is None:
            raise
        print(f"{chosen_parser(parser, args).command}: error: {message}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
