"""Settings resolved once: the config validated against config/schema.yaml, every default filled in.

The schema is the only place a default lives. `resolve_config` validates a
whole config and fills the default of every key the config leaves out --
inside per-name entries (`teachers.<name>`, `benchmarks.<name>`) and list
items too, and null where the schema's default is null -- so the Snakefile,
`python -m ded plan` and every library function after them read plain keys
(`config["teachers"][t]["max_tokens"]`), never a default of their own.

The command-line tools that take one section of a config (a teacher entry, the
`train` section) fill it with `resolve_section`, from the same schema.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any, Iterable

from .config import ConfigError

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "config" / "schema.yaml"


@functools.lru_cache(maxsize=8)
def _load_schema(path: str) -> dict:
    return assemble_schema(path)


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    """The config schema, assembled into one dict (`assemble_schema`; read once per path; callers must not
    modify it)."""
    return _load_schema(str(Path(path).resolve()))


#: Keywords whose values are data, not schemas: a `$ref` key inside them is not followed.
_DATA_KEYWORDS = frozenset({"default", "enum", "const", "examples"})


def assemble_schema(path: str | Path) -> dict:
    """The schema of file `path` as one dict, every `$ref` to another file replaced by what it points to.

    config/schema.yaml holds one `$ref` per section (`schema/teachers.yaml`); a reference is read relative
    to the folder of the file that holds it, and the referenced content is assembled in turn. A reference
    to a shared definition (`defs.yaml#/$defs/model_source`) stays a reference, `#/$defs/model_source`,
    into the assembled root's `$defs`, where the definition is copied; the root's own `#/...` references
    are left as they are. A whole file inlined loses its `$schema` (the root's applies). So the result is
    the single-file schema it was split from, and fill_defaults, `_deref` and jsonschema see no file.
    Pure: reads the files, changes nothing.
    """
    from .io import read_yaml

    root_file = Path(path).resolve()
    docs: dict[Path, Any] = {}
    hoisted: dict[str, Any] = {}
    hoisted_from: dict[str, tuple[Path, str]] = {}

    def document(file: Path) -> Any:
        if file not in docs:
            docs[file] = read_yaml(file, "config schema")
        return docs[file]

    def at(file: Path, fragment: str, ref: str, where: Path) -> Any:
        node = document(file)
        for part in [p.replace("~1", "/").replace("~0", "~") for p in fragment.split("/")[1:]]:
            if not isinstance(node, (dict, list)) or (isinstance(node, dict) and part not in node):
                raise ConfigError(f"config schema {where}: $ref {ref!r}: {file} has no {fragment}")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def walk(node: Any, file: Path, inlining: tuple[Path, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, file, inlining) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", ref):  # not a URL
            name, _, fragment = ref.partition("#")
            target = (file.parent / name).resolve() if name else file
            if fragment and not fragment.startswith("/"):
                raise ConfigError(f"config schema {file}: cannot follow $ref {ref!r}")
            parts = fragment.split("/")[1:]
            rest = {key: value if key in _DATA_KEYWORDS else walk(value, file, inlining)
                    for key, value in node.items()}
            if target == root_file:
                return {**rest, "$ref": "#" + fragment}
            if len(parts) == 2 and parts[0] == "$defs":  # a shared definition: copied into the root's $defs
                key = parts[1]
                if key not in hoisted_from:
                    hoisted_from[key] = (target, fragment)
                    hoisted[key] = walk(at(target, fragment, ref, file), target, inlining)
                elif hoisted_from[key] != (target, fragment):
                    raise ConfigError(f"config schema: two definitions named {key!r}: "
                                      f"{hoisted_from[key][0]} and {target}")
                return {**rest, "$ref": f"#/$defs/{key}"}
            if len(node) > 1:
                raise ConfigError(f"config schema {file}: a $ref to another file ({ref!r}) stands alone")
            if target in inlining:
                raise ConfigError(f"config schema {file}: $ref {ref!r} refers back to itself")
            content = walk(at(target, fragment, ref, file), target, (*inlining, target))
            if not fragment and isinstance(content, dict):
                content.pop("$schema", None)
            return content
        return {key: value if key in _DATA_KEYWORDS else walk(value, file, inlining)
                for key, value in node.items()}

    schema = walk(document(root_file), root_file, (root_file,))
    if hoisted:
        own = schema.get("$defs") or {}
        for key, value in hoisted.items():
            if key in own and own[key] != value:
                raise ConfigError(f"config schema {root_file}: $defs {key!r} is defined twice")
        defs = {**own, **{key: value for key, value in hoisted.items() if key not in own}}
        if "$defs" in schema:
            schema["$defs"] = defs
        else:  # placed before `properties`, where a single-file schema has it
            items = list(schema.items())
            at_props = next((i for i, (key, _) in enumerate(items) if key == "properties"), len(items))
            schema = dict([*items[:at_props], ("$defs", defs), *items[at_props:]])
    return schema


def fill_defaults(instance: Any, schema: dict, root: dict | None = None) -> Any:
    """Fill in place every default `schema` gives for a key `instance` leaves out (a copy of the default),
    at every object of it: top level, `additionalProperties` and `patternProperties` entries, list items,
    through `$ref`s and every branch of `oneOf`/`anyOf`/`allOf`; a filled default is filled in turn.
    Pure Python (no jsonschema), so a job's environment can fill a section too. Returns `instance`."""
    root = schema if root is None else root
    schema = _deref(schema, root) if isinstance(schema, dict) else schema
    if not isinstance(schema, dict):
        return instance
    if "$ref" in schema:
        fill_defaults(instance, _deref({"$ref": schema["$ref"]}, root), root)
    for branch in (*schema.get("allOf", ()), *schema.get("anyOf", ()), *schema.get("oneOf", ())):
        fill_defaults(instance, branch, root)
    if isinstance(instance, dict):
        properties = schema.get("properties") or {}
        for key, sub in properties.items():
            if key not in instance and isinstance(sub, dict) and "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            if key in instance:
                fill_defaults(instance[key], sub, root)
        patterns = schema.get("patternProperties") or {}
        extra = schema.get("additionalProperties")
        for key, value in instance.items():
            if key in properties:
                continue
            matched = [sub for pattern, sub in patterns.items() if re.search(pattern, key)]
            for sub in matched:
                fill_defaults(value, sub, root)
            if not matched and isinstance(extra, dict):
                fill_defaults(value, extra, root)
    elif isinstance(instance, list):
        prefix = schema.get("prefixItems") or []
        for i, item in enumerate(instance):
            sub = prefix[i] if i < len(prefix) else schema.get("items")
            if isinstance(sub, dict):
                fill_defaults(item, sub, root)
    return instance


def key_path(parts: Iterable) -> str:
    """`teachers.qwq.max_tokens`, `evaluation.out_of_domain.tasks[0].name`."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _check(instance: Any, schema: dict, where: str, prefix: str = "") -> None:
    """Fill `instance`'s defaults in place, then validate it (jsonschema); raise ConfigError naming the key
    path of its first error."""
    import jsonschema
    from jsonschema.exceptions import best_match

    fill_defaults(instance, schema)
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)(schema)
    error = best_match(validator.iter_errors(instance))
    if error is not None:
        path = key_path([*([prefix] if prefix else []), *error.absolute_path]) or "(top level)"
        raise ConfigError(f"{where}: {path}: {error.message}")


#: Keys a release renamed: old dotted path -> new one, so an old config fails with the new name in the message.
RENAMED_KEYS = {"diversity.keep": "diversity.trajectories_per_question"}


def check_renamed_keys(config: dict, where: str = "config") -> None:
    """Refuse a key RENAMED_KEYS lists, naming what it is called now."""
    for old, new in RENAMED_KEYS.items():
        section, key = old.rsplit(".", 1)
        node = config
        for part in section.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and key in node:
            raise ConfigError(f"{where}: {old} is now called {new} (same meaning): rename the key")


def resolve_config(config: dict, schema_path: str | Path = SCHEMA_PATH, where: str = "config") -> dict:
    """Validate `config` against the schema and fill in every default, in place; returns `config`.

    Unknown keys are refused (the schema closes every object; a renamed one with its new name). Raises
    ConfigError naming the key path (`where` names the config in the message, e.g. its files).
    """
    check_renamed_keys(config, where)
    _check(config, load_schema(schema_path), where)
    return sort_keys_in_place(config)


def sort_keys_in_place(node):
    """Every mapping's keys in sorted order, in place; returns `node`. What a run does must not depend on
    the order a config file writes its keys in: Snakemake keeps a --configfile's order, and the order of
    the teachers, seeds and benchmarks reaches rule inputs (a corpus concatenates the domains' samples in
    it), training data and tables. Lists keep their order: theirs is meant."""
    if isinstance(node, dict):
        items = sorted(node.items(), key=lambda kv: str(kv[0]))
        node.clear()
        node.update((k, sort_keys_in_place(v)) for k, v in items)
    elif isinstance(node, list):
        for item in node:
            sort_keys_in_place(item)
    return node


def resolved(config: dict, schema_path: str | Path = SCHEMA_PATH) -> dict:
    """A resolved deep copy of `config` (resolve_config without touching the caller's dict)."""
    return resolve_config(copy.deepcopy(config), schema_path)


def section_schema(path: str, schema: dict | None = None) -> dict:
    """The schema of a dotted key path: `train`, `teachers.*` ('*' is any name), `train.smoke`.

    `$ref`s are followed; a `[type, "null"]` object is taken as its object form.
    """
    root = schema if schema is not None else load_schema()
    node = root
    for part in path.split(".") if path else []:
        node = _step(_deref(node, root), part, root)
        if not isinstance(node, dict):
            raise KeyError(f"config schema: no key {path}")
    return _deref(node, root)


def _step(node: dict, part: str, root: dict) -> dict | None:
    """The schema of key `part` ('*': any name) of an object schema, looking into oneOf/anyOf/allOf branches
    (a `[null, object]` section written as oneOf)."""
    found = node.get("additionalProperties") if part == "*" else (node.get("properties") or {}).get(part)
    if isinstance(found, dict):
        return found
    for branch in (*node.get("allOf", ()), *node.get("anyOf", ()), *node.get("oneOf", ())):
        found = _step(_deref(branch, root), part, root)
        if isinstance(found, dict):
            return found
    return None


def _deref(node: dict, root: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise KeyError(f"config schema: cannot follow $ref {ref!r}")
        target = root
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def schema_default(path: str, schema: dict | None = None) -> Any:
    """The schema's default of one dotted key (a copy). KeyError when the key or its default is missing."""
    node = section_schema(path, schema)
    if "default" not in node:
        raise KeyError(f"config schema: no default for {path}")
    return copy.deepcopy(node["default"])


def resolve_section(section: dict | None, path: str, where: str | None = None, schema: dict | None = None,
                    check: bool = True) -> dict:
    """One section of a config (`train`, a teacher entry `teachers.*`) with every default of the schema
    filled in: a new dict, the caller's left as it is. With `check`, validated like resolve_config
    (ConfigError naming `where`.key); without, only filled (for a partial entry a command line assembles,
    which checks what it needs itself)."""
    root = schema if schema is not None else load_schema()
    sub = dict(section_schema(path, root))
    sub.setdefault("$defs", root.get("$defs", {}))
    out = copy.deepcopy(dict(section or {}))
    if check:
        _check(out, sub, "config", where or path)
    else:
        fill_defaults(out, sub)
    return out
