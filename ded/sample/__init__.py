"""Teacher sampling: one generation interface, four backends (hf, vllm, openai, corpus), resumable jobs."""

from .base import Backend, Completion, GenerationError, Outcome, Request, SamplingParams, sample_seed
from .prompts import build_messages, render_prompt, teacher_settings, user_message
from .runner import SamplingIncomplete, allocation_options, make_backend, sample_problems, sample_record
from .simple import make_generate

__all__ = [
    "Backend", "Completion", "GenerationError", "Outcome", "Request", "SamplingParams", "sample_seed",
    "build_messages", "render_prompt", "teacher_settings", "user_message",
    "SamplingIncomplete", "allocation_options", "make_backend", "sample_problems", "sample_record", "make_generate",
]
