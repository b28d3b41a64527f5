"""Configs as the tests build them."""

from __future__ import annotations


def resolved(config: dict | None = None, section: str = "") -> dict:
    """A copy of `config` with every default of config/schema.yaml filled in, as ded.settings.resolve_config
    leaves a run's config; `section` ("train", "teachers.*", "evaluation") for one section of it. Not checked
    for completeness, so a test gives only the keys it is about."""
    from ded.settings import resolve_section

    return resolve_section(config, section, check=False)
