#!/usr/bin/env bash
# Wheels that bench/gpu_check.sh needs on a GPU machine without network whose
# Python (3.12) already has torch: the training stack at the versions of
# requirements/cpu.lock (LlamaFactory caps transformers, accelerate and peft,
# so a newer copy there is shadowed), DeepSpeed and hjson at envs/train.yaml's,
# into .whl/ (about 25 MB).
#
#   bash bench/gpu_wheels.sh && echo /.whl/ >> .git/info/exclude
#
# DeepSpeed ships only a source archive: it is built here into a wheel whose
# kernels compile on first use there (DS_BUILD_OPS=0), as its docs describe.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DEST=.whl
mkdir -p "$DEST"

locked() { # the version requirements/cpu.lock pins for $1
    grep -i -m1 "^$1==" requirements/cpu.lock | cut -d= -f3 | cut -d' ' -f1
}
PACKAGES=(transformers tokenizers accelerate peft datasets dill multiprocess trl omegaconf fire termcolor tyro
          docstring-parser shtab torchdata chardet pydantic pydantic-core annotated-types typing-inspection)
specs=("llamafactory==$(grep -m1 '^llamafactory==' requirements/no-deps.txt | cut -d= -f3)")
for p in "${PACKAGES[@]}"; do
    v=$(locked "$p")
    [ -n "$v" ] || { echo "gpu_wheels.sh: $p is not in requirements/cpu.lock" >&2; exit 1; }
    specs+=("$p==$v")
done
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$DEST" "${specs[@]}" "$(grep -m1 -o 'hjson==[0-9.]*' envs/train.yaml)"
# Pure-Python packages published only as source archives: build them here.
"$PY" -m pip wheel -q --no-deps -w "$DEST" "antlr4-python3-runtime==$(locked antlr4-python3-runtime)"
DS=$(grep -m1 -o 'deepspeed==[0-9.]*' envs/train.yaml)
DS_BUILD_OPS=0 "$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$DEST" "$DS"
du -sh "$DEST"
ls "$DEST"
