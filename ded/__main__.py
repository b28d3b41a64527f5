"""`python -m ded <stage> ...`: each stage's library function outside Snakemake.

Each stage module registers its own subcommands through `add_parser`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ded", description=__doc__)
    sub = parser.add_subparsers(dest="stage", required=True)
    for name, module in STAGES.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue  # stage not built yet
            raise
        mod.add_parser(sub)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
