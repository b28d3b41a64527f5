"""Types of the values given with `snakemake --config`."""

from __future__ import annotations

from collections.abc import Mapping

import yaml

_STR = "tag:yaml.org,2002:str"
_SCALARS = (bool, int, float, type(None))
_LOADER = yaml.SafeLoader("")


def yaml_scalar(text: str):
    """A plain scalar as a YAML config file reads it: `0.3` a float, `true` a bool, `null` None.

    Only the scalar is resolved, never parsed as YAML, so a string such as
    `# x` or `a: b` stays what it is. Timestamps and the empty string stay
    strings: the empty one may have been quoted, and the schema knows no dates.
    """
    tag = _LOADER.resolve(yaml.ScalarNode, text, (True, False))
    if not text or tag == _STR:
        return text
    value = _LOADER.construct_object(yaml.ScalarNode(tag, text))
    return value if isinstance(value, _SCALARS) else text


def _typed(value):
    if isinstance(value, Mapping):
        return {key: _typed(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return yaml_scalar(value) if isinstance(value, str) else value


def typed_overrides(overrides: Mapping) -> dict:
    """`--config` overrides with the scalars inside their mappings and lists typed as in a config file.

    Snakemake types a top-level value itself (int, float, True/False), but
    reads a mapping or list with YAML's BaseLoader, which leaves every scalar
    in it a string: `compression={"threshold": 0.3}` arrives as '0.3' and
    fails the schema's `number`. Top-level values are left as Snakemake typed
    them. A string that looks like a number is taken for one (the quotes are
    gone by now); the schema names the key if that was not meant.
    """
    return {key: _typed(value) if isinstance(value, (Mapping, list)) else value
            for key, value in (overrides or {}).items()}
