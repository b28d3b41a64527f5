"""ded.redact: secrets, and their encoded forms, never survive in a text the workflow writes."""

from __future__ import annotations

import base64

import pytest

from ded.filter.judge import Judge, redacting
from ded.redact import (
    REDACTED,
    config_secrets,
    redact,
    redact_error,
    redact_obj,
    strip_userinfo,
    url_secrets,
)

KEY = "sk-live-Zq8v1T0pQ9xYw2LmN4"


def test_plain_json_and_percent_forms():
    assert redact(f"Authorization: Bearer {KEY}", [KEY]) == f"Authorization: Bearer {REDACTED}"
    assert redact(f"{KEY}{KEY}", [KEY]) == REDACTED * 2
    odd = 'p@ss/w"rd\\long'
    assert odd not in redact(f"x {odd} y", [odd])
    assert redact('{"k": "p@ss/w\\"rd\\\\long"}', [odd]) == '{"k": "' + REDACTED + '"}'
    assert redact("q=p%40ss%2Fw%22rd%5Clong", [odd]) == "q=" + REDACTED


@pytest.mark.parametrize("prefix", ["", "u:", "ab:", "user:"])
def test_base64_forms_at_any_alignment(prefix):
    # A Basic header carries base64("user:key"): the key sits at an offset the redactor does not know.
    header = "Basic " + base64.b64encode(f"{prefix}{KEY}".encode()).decode()
    out = redact(f"echo: {header}", [KEY])
    assert REDACTED in out
    for form in (KEY, base64.b64encode(KEY.encode()).decode()[:12]):
        assert form not in out
    urlsafe = base64.urlsafe_b64encode(f"{prefix}{KEY}??>".encode()).decode()
    assert REDACTED in redact(urlsafe, [KEY])


def test_short_and_missing_secrets_are_left_alone():
    assert redact("a test of 1234567", ["test", "1234567", None, ""]) == "a test of 1234567"
    assert redact("", [KEY]) == "" and redact("nothing here", []) == "nothing here"


def test_objects_errors_and_urls():
    obj = {"choices": [{"message": {"content": f"key {KEY}"}}], KEY: 3, "n": 1.5}
    assert redact_obj(obj, [KEY]) == {"choices": [{"message": {"content": f"key {REDACTED}"}}], REDACTED: 3,
                                      "n": 1.5}
    try:
        try:
            raise ValueError(f"inner {KEY}")
        except ValueError as inner:
            raise KeyError(f"outer {KEY}") from inner
    except KeyError as exc:
        clean = redact_error(exc, [KEY])
    assert type(clean) is KeyError and KEY not in str(clean) and clean.__cause__ is None
    assert clean.__suppress_context__
    url = "https://alice:s3cr3t-pass@api.example.org:8443/v1"
    assert url_secrets(url) == ["alice", "s3cr3t-pass", "alice:s3cr3t-pass"]
    assert strip_userinfo(url) == "https://api.example.org:8443/v1"
    assert strip_userinfo("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"


def test_config_secrets_reads_every_named_variable(monkeypatch):
    monkeypatch.setenv("DED_TEST_KEY_A", KEY)
    monkeypatch.setenv("DED_TEST_KEY_B", "another-secret-value")
    config = {"teachers": {"a": {"api_key_env": "DED_TEST_KEY_A"},
                           "b": {"api_key_env": "DED_TEST_KEY_B", "api_base": "http://u:urlpassword1@h/v1"},
                           "c": {"api_key_env": "DED_TEST_UNSET_VARIABLE", "api_base": None}},
              "filter": {"judge": {"model": "m"}}}
    monkeypatch.delenv("DED_TEST_UNSET_VARIABLE", raising=False)
    assert config_secrets(config) == [KEY, "another-secret-value", "u", "urlpassword1", "u:urlpassword1"]


def test_judge_replies_and_errors_are_redacted():
    def generate(prompts):
        if any("boom" in p for p in prompts):
            raise RuntimeError(f"HTTP 401: {{'auth': 'Bearer {KEY}'}}")
        return [f"The grader key is {KEY}. VERDICT: YES" for _ in prompts]

    judge = Judge(generate=redacting(generate, [KEY]))
    [r] = judge.judge([({"prompt": "1+1?", "gold": "2"}, "2")])
    assert r["verdict"] == "correct" and KEY not in r["output"] and REDACTED in r["output"]
    with pytest.raises(RuntimeError) as err:
        judge.judge([({"prompt": "boom"}, "x")])
    assert KEY not in str(err.value) and err.value.__cause__ is None
