"""Checks on the config that a JSON schema cannot express (cross-references)."""

from __future__ import annotations


class ConfigError(ValueError):
    pass


def check_references(config: dict) -> None:
    """Every name a section uses must exist where it points; fail naming the key path."""
    models = config.get("models", {})
    for section in ("students", "teachers"):
        for name, spec in config.get(section, {}).items():
            if spec.get("model") not in models:
                raise ConfigError(
                    f"config: {section}.{name}.model = {spec.get('model')!r} is not a key of `models` "
                    f"(known: {', '.join(sorted(models)) or 'none'})")
