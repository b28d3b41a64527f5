"""`python -m ded sample ...`: teacher sampling outside Snakemake.

    python -m ded sample --problems P.jsonl --model-path DIR --backend hf --n 2 \\
        --max-tokens 64 --out OUT.jsonl [--progress FILE]

Killed and rerun with the same arguments, it resumes from the progress file
(default: OUT.jsonl.progress) and writes OUT.jsonl once, complete.
"""

from __future__ import annotations

import argparse
import logging
import sys

from ..errors import at_least

#: command-line flag -> teacher spec key (flags left unset keep the spec's or the default value)
SPEC_FLAGS = ("backend", "system_prompt", "temperature", "top_p", "max_tokens", "chat_template", "api_base",
              "api_key_env", "api_model", "concurrency", "timeout_s", "max_retries", "corpus_path", "corpus_missing")


def _spec_from_args(args) -> dict:
    spec: dict = {}
    if args.teacher_spec:
        from ..io import RecordError, read_yaml

        loaded = read_yaml(args.teacher_spec, "YAML or JSON file")  # JSON is YAML too
        if not isinstance(loaded, dict):
            raise RecordError(args.teacher_spec, None, None, "expected a mapping of teacher keys")
        spec.update(loaded)
    for key in SPEC_FLAGS:
        value = getattr(args, key)
        if value is not None:
            spec[key] = value
    if args.prefill_think:
        spec["prefill_think"] = True
    return spec


def _sample(args) -> int:
    from ..io import read_index
    from .runner import SamplingIncomplete, sample_problems

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    problems = list(read_index(args.problems, "problem").values())
    if args.limit:
        problems = problems[: args.limit]
    options = {k: v for k, v in (("threads", args.threads), ("device", args.device),
                                  ("tensor_parallel_size", args.tensor_parallel_size)) if v is not None}
    try:
        written = sample_problems(
            problems, _spec_from_args(args), model_name=args.model_name, n=args.n, out_path=args.out,
            progress_path=args.progress or f"{args.out}.progress", batch_size=args.batch_size, seed=args.seed,
            model_path=args.model_path, backend_options=options,
            progress_bar=False if args.no_progress_bar else None)
    except SamplingIncomplete as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(f"{written} samples written to {args.out}", file=sys.stderr)
    return 0


def _spec_default(key: str) -> str:
    """'(default: the teacher spec's value, else X)' for a flag that overrides a teacher key."""
    from ..settings import schema_default

    value = schema_default(f"teachers.*.{key}")
    return f"(default: the --teacher-spec value, else {'none' if value is None else value})"


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="sample teacher completions for PROBLEM JSONL (resumable)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--problems", required=True, help="PROBLEM JSONL of the questions to answer")
    p.add_argument("--out", required=True, help="SAMPLE JSONL to write (once, complete)")
    p.add_argument("--progress", help="progress file that makes a rerun resume (default: OUT.progress)")
    p.add_argument("--model-path", help="local Hugging Face model folder (hf, vllm)")
    p.add_argument("--model-name", default="teacher",
                   help="name written in each sample's `model` field (default: %(default)s)")
    p.add_argument("--teacher-spec", help="YAML/JSON file with a teacher entry of the config; flags override it")
    p.add_argument("--backend", choices=["hf", "vllm", "openai", "corpus"],
                   help="generation engine: hf (transformers), vllm, openai (an OpenAI-compatible server), "
                        "corpus (replay existing traces) " + _spec_default("backend"))
    p.add_argument("--n", type=at_least(1), default=1, help="samples per problem (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="base seed; each (question, sample) pair's seed derives from it (default: %(default)s)")
    p.add_argument("--batch-size", type=at_least(1), default=8,
                   help="requests handed to the backend at once (default: %(default)s)")
    p.add_argument("--max-tokens", dest="max_tokens", type=int,
                   help="most tokens generated per sample, reasoning included " + _spec_default("max_tokens"))
    p.add_argument("--temperature", type=float,
                   help="sampling temperature; 0 is greedy " + _spec_default("temperature"))
    p.add_argument("--top-p", dest="top_p", type=float,
                   help="nucleus sampling mass, in (0, 1] " + _spec_default("top_p"))
    p.add_argument("--system-prompt", dest="system_prompt",
                   help="system message sent before each question " + _spec_default("system_prompt"))
    p.add_argument("--chat-template", dest="chat_template",
                   help='Jinja chat template, or "raw" for none (default: the --teacher-spec value, '
                        "else the tokenizer's template)")
    p.add_argument("--prefill-think", action="store_true", help="open <think> at the end of the prompt")
    p.add_argument("--api-base", dest="api_base",
                   help="base URL of the OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1 (openai)")
    p.add_argument("--api-key-env", dest="api_key_env",
                   help="name of the environment variable with the API key (openai; default: send none)")
    p.add_argument("--api-model", dest="api_model",
                   help="model name sent to the API (openai; default: the --teacher-spec's api_model or model, "
                        "else --model-name)")
    p.add_argument("--concurrency", type=int,
                   help="API calls in flight at once (openai) " + _spec_default("concurrency"))
    p.add_argument("--timeout-s", dest="timeout_s", type=float,
                   help="seconds before an API call times out and is retried (openai) (default: the "
                        "--teacher-spec value, else 600 + max_tokens / 10, time for a slow 10 tokens/s reply)")
    p.add_argument("--max-retries", dest="max_retries", type=int,
                   help="retries of a failed API call, with exponential backoff (openai) "
                        + _spec_default("max_retries"))
    p.add_argument("--corpus-path", dest="corpus_path",
                   help="local JSON/JSONL/parquet file or Hugging Face dataset id of existing traces (corpus)")
    p.add_argument("--corpus-missing", dest="corpus_missing", choices=["error", "skip"],
                   help="what to do with a question the corpus has no trace for (corpus) "
                        + _spec_default("corpus_missing"))
    p.add_argument("--threads", type=int, help="torch CPU threads (hf; default: torch's choice)")
    p.add_argument("--device", help="hf: cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--tensor-parallel-size", dest="tensor_parallel_size", type=int,
                   help="GPUs one model spans (vllm; default: 1)")
    p.add_argument("--limit", type=at_least(1), help="only the first N problems (debugging)")
    p.add_argument("--no-progress-bar", action="store_true", help="show no progress bar or progress lines on stderr")
    p.set_defaults(func=_sample)
