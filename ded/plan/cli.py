"""`python -m ded plan --configfile config/paper.yaml`: GPU-hours and disk per stage before submitting."""

from __future__ import annotations

import sys
from pathlib import Path

from ..io import read_yaml
from .estimate import SCHEMA, Settings, attach_profile, compute_plan, format_plan, load_config, nodes_by_rule

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PROFILE = ROOT / "profiles" / "slurm" / "config.yaml"
PLAN_KEYS = ("gpu", "reference_params_b", "generation_tokens_per_gpu_s", "training_tokens_per_gpu_s",
             "forward_tokens_per_gpu_s", "mean_output_tokens", "concurrent_jobs", "checkpoint_bytes_per_param",
             "jsonl_bytes_per_token")


def _shown(path: str) -> str:
    """A path relative to the workflow folder when it lies inside it."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return path


def run(args) -> int:
    config = load_config([Path(p) for p in args.configfile], Path(args.schema))
    stages = compute_plan(config)
    if args.profile:
        attach_profile(stages, read_yaml(args.profile, "SLURM profile") or {}, nodes_by_rule(config))
    settings = Settings(config)
    print(format_plan(stages, {k: settings.plan(k) for k in PLAN_KEYS},
                      title=f"Compute plan for {' + '.join(args.configfile)}"
                      + (f" with the resources of {_shown(args.profile)}" if args.profile else "")))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("plan", help="estimate GPU-hours and disk per stage from a config's token counts",
                       description=__doc__ + "\n\nAssumptions (throughputs, mean lengths) are the config's "
                       "`plan:` section; see config/schema.yaml.")
    p.add_argument("--configfile", nargs="+", default=[str(ROOT / "config" / "config.yaml")],
                   help="workflow config files, merged in order as Snakemake merges them, e.g. config/paper.yaml "
                        "config/subsets/table3.yaml (default: the embedded config/config.yaml)")
    p.add_argument("--schema", default=str(SCHEMA), help="config schema (default: config/schema.yaml)")
    p.add_argument("--profile", default=str(DEFAULT_PROFILE) if DEFAULT_PROFILE.exists() else None,
                   help="SLURM profile whose GPUs per job and runtimes are compared with the estimates "
                        "(default: profiles/slurm/config.yaml)")
    p.add_argument("--no-profile", dest="profile", action="store_const", const=None,
                   help="print GPU-hours only")
    p.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    """`python -m ded.plan.cli plan ...`, through the one error path of `python -m ded`."""
    from ..__main__ import main as ded_main

    return ded_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
