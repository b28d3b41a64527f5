"""The `hf` backend: transformers `generate`, batched with left padding, CPU or GPU.

Every sampled row draws from its own `torch.Generator` seeded with the
request's seed, inside a logits processor that leaves `generate` only the
sampled token to pick. A row's tokens therefore depend on its seed and not on
which other rows share its batch, so a resumed job (whose batches hold only
the pairs still missing) draws what an uninterrupted one would.

When a request asks for top-k logprobs, the same processor keeps, per step,
the k most likely tokens of the log-softmax of the logits it receives: the
model's own distribution, before temperature and top-p. Taking them there
rather than from `generate(output_logits=True)` keeps k values per step
instead of the whole vocabulary for every step of every row.
"""

from __future__ import annotations

import logging
import time
from typing import Iterator

from .base import Backend, Completion, Outcome, Request, derive_seed, model_fingerprint, top_logprob_entries
from .prompts import render_prompt

log = logging.getLogger(__name__)


#: Top-p first looks among this many most likely tokens; the full sort is only for rows whose nucleus is wider.
NUCLEUS_CANDIDATES = 256


def _row_sampler_class():
    import torch
    from transformers import LogitsProcessor

    class RowSampler(LogitsProcessor):
        """Samples each row with its own generator, temperature and top-p; returns one-hot scores.

        Only the uniform draw is per row; softmax, top-k and the cumulative
        sums run on the whole batch (a per-row sort and multinomial cost more
        than a 135M model's forward pass on a CPU).
        """

        def __init__(self, seeds, temperatures, top_ps, device, top_k_logprobs: int = 0):
            self.generators = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]
            self.temperatures = torch.tensor([max(float(t), 1e-6) for t in temperatures], device=device)
            self.greedy = torch.tensor([float(t) <= 0 for t in temperatures], device=device)
            self.top_ps = torch.tensor([float(p) for p in top_ps], dtype=torch.float64, device=device)
            #: k of the logprobs kept per step (the batch's largest ask); 0 keeps none
            self.top_k_logprobs = int(top_k_logprobs or 0)
            #: per generated step, (values, ids) of shape [rows, k]
            self.steps: list = []

        def _draws(self, device):
            return torch.stack([torch.rand((), generator=g, device=device, dtype=torch.float64)
                                for g in self.generators])

        @staticmethod
        def _pick(vals, idx, top_ps, u):
            """Per row, the token at draw u within the smallest prefix of (sorted) vals whose mass reaches top_p."""
            vals = vals.double()
            vals = torch.where(torch.cumsum(vals, -1) - vals < top_ps[:, None], vals, torch.zeros_like(vals))
            cdf = torch.cumsum(vals, -1)
            pick = torch.searchsorted(cdf, (u * cdf[:, -1])[:, None]).clamp_max(cdf.shape[-1] - 1)
            return idx.gather(-1, pick).squeeze(-1)

        def __call__(self, input_ids, scores):
            if self.top_k_logprobs:
                logp = torch.log_softmax(scores.float(), dim=-1)
                self.steps.append(torch.topk(logp, min(self.top_k_logprobs, logp.shape[-1]), dim=-1))
            probs = torch.softmax(scores.float() / self.temperatures[:, None], dim=-1)
            u = self._draws(scores.device)
            vocab = probs.shape[-1]
            vals, idx = torch.topk(probs, min(NUCLEUS_CANDIDATES, vocab), dim=-1)
            tokens = self._pick(vals, idx, self.top_ps, u)
            # rows whose nucleus is wider than the candidates get an exact full sort, alone
            wide = (vals.double().sum(-1) < self.top_ps) & (self.top_ps < 1)
            if bool(wide.any()):
                vals, idx = torch.sort(probs[wide], dim=-1, descending=True)
                tokens[wide] = self._pick(vals, idx, self.top_ps[wide], u[wide])
            # top_p == 1 samples the whole vocabulary
            full = self.top_ps >= 1
            if bool(full.any()):
                cdf = torch.cumsum(probs[full].double(), -1)
                pick = torch.searchsorted(cdf, (u[full] * cdf[:, -1])[:, None]).clamp_max(vocab - 1)
                tokens[full] = pick.squeeze(-1)
            tokens = torch.where(self.greedy, scores.argmax(-1), tokens)
            out = torch.full_like(scores, float("-inf"))
            out.scatter_(1, tokens[:, None], 0.0)
            return out

    return RowSampler


class HFBackend(Backend):
    name = "hf"

    def __init__(self, model_path: str, *, chat_template: str | None = None, prefill_think: bool = False,
                 batch_size: int = 8, device: str | None = None, dtype: str | None = None,
                 threads: int | None = None, revision: str | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(int(threads))
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if dtype in (None, "auto"):
            # bf16 matmuls are slow on most CPUs; float32 there, bf16 on GPUs.
            dtype = "bfloat16" if self.device.startswith("cuda") else "float32"
        self.model_path = str(model_path)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(self.model_path, dtype=getattr(torch, dtype))
        self.model.to(self.device).eval()
        self.eos_ids = self._eos_ids()
        self.chat_template = chat_template
        self.prefill_think = prefill_think
        self.batch_size = max(1, int(batch_size))
        self.revision = revision or model_fingerprint(self.model_path)

    def _eos_ids(self) -> list[int]:
        """Every id that ends a turn: the generation config's and the tokenizer's."""
        ids = self.model.generation_config.eos_token_id
        ids = list(ids) if isinstance(ids, (list, tuple)) else ([ids] if ids is not None else [])
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in ids:
            ids.append(self.tokenizer.eos_token_id)
        if not ids:
            raise ValueError(f"model at {self.model_path} defines no end-of-sequence token")
        return ids

    def render(self, messages) -> tuple[str, bool]:
        return render_prompt(self.tokenizer, list(messages), self.chat_template, self.prefill_think)

    def _rows(self, requests: list[Request]):
        """One row per sample: (request index, prompt text, prefilled, seed, params)."""
        rows = []
        for i, req in enumerate(requests):
            text, prefilled = self.render(req.messages)
            p = req.params
            for j in range(p.n):
                seed = p.seed if p.n == 1 else derive_seed(p.seed, j)
                rows.append((i, text, prefilled, seed, p))
        return rows

    def stream(self, requests: list[Request]) -> Iterator[Outcome]:
        rows = self._rows(list(requests))
        pending: dict[int, list] = {}
        need = {i: req.params.n for i, req in enumerate(requests)}
        for start in range(0, len(rows), self.batch_size):
            batch = rows[start:start + self.batch_size]
            try:
                completions = self._generate_batch(batch)
            except Exception as exc:  # noqa: BLE001 - reported per request, the caller decides
                for i in sorted({r[0] for r in batch}):
                    pending.pop(i, None)
                    need[i] = -1
                    yield Outcome(i, requests[i], error=exc)
                continue
            for row, comp in zip(batch, completions):
                i = row[0]
                if need[i] < 0:
                    continue
                pending.setdefault(i, []).append(comp)
                if len(pending[i]) == need[i]:
                    yield Outcome(i, requests[i], completions=pending.pop(i))

    def _generate_batch(self, batch) -> list[Completion]:
        import torch
        from transformers import LogitsProcessorList

        texts = [r[1] for r in batch]
        params = [r[4] for r in batch]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        prompt_lens = enc["attention_mask"].sum(dim=1).tolist()
        width = enc["input_ids"].shape[1]
        max_new = max(p.max_tokens for p in params)
        sampler = _row_sampler_class()(
            [r[3] if r[3] is not None else 0 for r in batch], [p.temperature for p in params],
            [p.top_p for p in params], self.device, max(p.logprobs or 0 for p in params))
        start = time.perf_counter()
        with torch.no_grad():
            out = self.model.generate(
                **enc, max_new_tokens=max_new, do_sample=False, temperature=None, top_p=None, top_k=None,
                logits_processor=LogitsProcessorList([sampler]), eos_token_id=self.eos_ids,
                pad_token_id=self.tokenizer.pad_token_id)
        elapsed = time.perf_counter() - start
        eos = set(self.eos_ids)
        top = None
        if sampler.steps:
            # [rows, steps, k]: step t holds the distribution the t-th generated token was drawn from
            top = (torch.stack([v for v, _ in sampler.steps], 1).cpu().tolist(),
                   torch.stack([i for _, i in sampler.steps], 1).cpu().tolist())
        results = []
        for k, row in enumerate(batch):
            tokens = out[k, width:].tolist()[: params[k].max_tokens]
            stop = next((t for t, tok in enumerate(tokens) if tok in eos), None)
            if stop is not None:
                body, n_tokens, finish = tokens[:stop], stop + 1, "stop"
            else:
                body, n_tokens, finish = tokens, len(tokens), "length"
            top_logprobs = None
            if top is not None and params[k].logprobs:
                kk = params[k].logprobs
                top_logprobs = [top_logprob_entries(zip(ids[:kk], vals[:kk]))
                                for vals, ids in zip(top[0][k][:n_tokens], top[1][k][:n_tokens])]
            results.append(Completion(
                raw_text=self.tokenizer.decode(body, skip_special_tokens=True),
                prompt_tokens=int(prompt_lens[k]), completion_tokens=n_tokens, finish_reason=finish,
                elapsed_s=round(elapsed, 4), model_revision=self.revision, seed=row[3],
                prefilled_think=row[2], top_logprobs=top_logprobs))
        return results
