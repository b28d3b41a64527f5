"""Keep configured secrets (API keys, URL passwords) out of every text the workflow writes.

A server may quote a request back: its Authorization header in a 401 page,
a proxy's 500 dump, a model that repeats its prompt. Whatever talks to an API
runs each text it passes on (error messages, log lines, completions, records)
through `redact` with the secrets it holds, before any truncation, so neither
a whole secret nor its head survives.

Secrets shorter than MIN_SECRET_CHARS are left alone: replacing every "test"
or "1234" in a completion would corrupt data, and a key that short protects
nothing anyway.
"""

from __future__ import annotations

import base64
import json
import os
from functools import lru_cache
from typing import Any, Iterable, Mapping
from urllib.parse import quote, unquote, urlsplit, urlunsplit

REDACTED = "[REDACTED]"
MIN_SECRET_CHARS = 8

#: Config keys whose value names an environment variable holding a secret (teacher specs, and any
#: section that reaches an API through one, such as the filter's judge).
SECRET_ENV_KEYS = ("api_key_env",)
#: Config keys whose value is a URL that may carry `user:password@`.
SECRET_URL_KEYS = ("api_base",)

_URLSAFE = str.maketrans("+/", "-_")


def _base64_cores(data: bytes) -> set[str]:
    """The base64 characters fixed by `data` alone, at each of the three byte alignments.

    A Basic Authorization header is base64("user:password"): the password sits
    at an offset the redactor cannot know, so each alignment is tried; only the
    characters that no neighbouring byte changes are kept.
    """
    out = set()
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + data).decode("ascii")
        core = enc[-(-8 * pad // 6):(8 * (pad + len(data))) // 6]
        out |= {core, core.translate(_URLSAFE)}
    return out


def secret_forms(secret: str) -> list[str]:
    """Every way `secret` may appear in a server's reply, longest first (so no form leaves a piece of
    a longer one): as is, JSON-escaped, percent-encoded, and inside base64."""
    forms = {secret, json.dumps(secret, ensure_ascii=True)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             quote(secret, safe="")}
    forms |= _base64_cores(secret.encode("utf-8"))
    return sorted((f for f in forms if f), key=lambda f: (-len(f), f))


@lru_cache(maxsize=64)
def _forms(secrets: tuple) -> tuple[str, ...]:
    # Cached: a reply with logprobs has thousands of strings, each redacted with the same secrets.
    forms: set[str] = set()
    for s in secrets:
        if isinstance(s, str) and len(s) >= MIN_SECRET_CHARS:
            forms.update(secret_forms(s))
    return tuple(sorted(forms, key=lambda f: (-len(f), f)))


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret of MIN_SECRET_CHARS or more (and its encoded forms) replaced by REDACTED."""
    if not text:
        return text
    for form in _forms(tuple(secrets)):
        if form in text:
            text = text.replace(form, REDACTED)
    return text


def redact_obj(obj: Any, secrets: Iterable[str | None]) -> Any:
    """A JSON-like value with `redact` applied to every string in it, keys included."""
    forms = _forms(tuple(secrets))
    return _redact_obj(obj, forms) if forms else obj


def _redact_obj(obj: Any, forms: tuple[str, ...]) -> Any:
    if isinstance(obj, str):
        for form in forms:
            if form in obj:
                obj = obj.replace(form, REDACTED)
        return obj
    if isinstance(obj, dict):
        return {_redact_obj(k, forms): _redact_obj(v, forms) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_redact_obj(v, forms) for v in obj]
    return obj


def redact_error(exc: BaseException, secrets: Iterable[str | None], cls: type[BaseException] | None = None
                 ) -> BaseException:
    """A new exception (of `cls`, else of `exc`'s class) whose message is `exc`'s, redacted.

    The new one chains to nothing: a traceback printed later would otherwise
    show the original message (and the reply it quoted) as the cause.
    """
    secrets = tuple(secrets)
    message = redact(str(exc), secrets)
    kind = cls or type(exc)
    try:
        out = kind(message)
    except Exception:  # noqa: BLE001 - an exception class that wants other arguments
        out = RuntimeError(f"{type(exc).__name__}: {message}")
    out.__cause__ = None
    out.__suppress_context__ = True
    return out


def env_secrets(names: Iterable[str | None], environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of the environment variables `names` that are set."""
    environ = os.environ if environ is None else environ
    return [environ[n] for n in names if n and environ.get(n)]


def url_secrets(url: str | None) -> list[str]:
    """The user name, the password and 'user:password' of a URL's userinfo (what Basic auth sends)."""
    if not url:
        return []
    parts = urlsplit(url)
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    out = [s for s in (user, password) if s]
    if user or password:
        out.append(f"{user}:{password}")
    return out


def strip_userinfo(url: str) -> str:
    """`url` without `user:password@`, for messages and logs."""
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def config_secrets(config: Any, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every secret a config names, wherever it names one: the values of the environment variables
    under SECRET_ENV_KEYS and the userinfo of the URLs under SECRET_URL_KEYS."""
    names: list[str] = []
    urls: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in SECRET_ENV_KEYS and isinstance(value, str):
                    names.append(value)
                elif key in SECRET_URL_KEYS and isinstance(value, str):
                    urls.append(value)
                else:
                    walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(config)
    out = env_secrets(names, environ)
    for url in urls:
        out += url_secrets(url)
    return list(dict.fromkeys(out))
