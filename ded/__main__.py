"""`python -m ded <stage> ...`: each stage's library function outside Snakemake.

Each stage module registers its own subcommands through `add_parser`. A bad
input ends the command with one line on stderr naming the file, line and
field, and exit status 2; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import EXIT_ERROR, EXIT_INTERRUPTED, describe, one_line

#: stage name -> module providing add_parser(subparsers)
STAGES = {
    "data": "ded.data.cli",
    "sample": "ded.generate.cli",
    "verify": "ded.verify.cli",
    "select": "ded.select.cli",
    "train": "ded.train.cli",
    "evaluate": "ded.evaluate.cli",
    "analysis": "ded.analysis.cli",
    "plan": "ded.plan_cli",
}


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


def build_parser() -> Parser:
    parser = Parser(prog="python -m ded", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of a failure instead of one line")
    # Not "stage": `train --stage` has that name.
    sub = parser.add_subparsers(dest="ded_stage", metavar="stage", required=True)
    for name, module in STAGES.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue  # stage not built yet
            raise
        mod.add_parser(sub)
    return parser


def chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)parser of the command that ran, e.g. the one of `data seeds`."""
    while True:
        action = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
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
