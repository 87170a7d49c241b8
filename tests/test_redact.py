"""Secret redaction: what is caught, what is left alone, and that inputs stay untouched."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings, strategies as st

from sidecar.core.redact import redact, redact_text, secret_key_kind

GH = "ghp_" + "A1b2C3d4" * 5
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"
PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "curl -H 'Authorization: Bearer abc123def456ghi789'",
            "curl -H 'Authorization: Bearer [REDACTED:authorization]'",
        ),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [REDACTED:authorization]"),
        (f"Authorization: Bearer {JWT}", "Authorization: Bearer [REDACTED:jwt]"),
        ("token is Bearer abc123def456ghi789", "token is Bearer [REDACTED:bearer_token]"),
        (f"key:\n{PEM}\nend", "key:\n[REDACTED:private_key]\nend"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE...", "[REDACTED:private_key]"),
        ("id AKIAIOSFODNN7EXAMPLE.", "id [REDACTED:aws_access_key]."),
        (f"push with {GH} now", "push with [REDACTED:github_token] now"),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "[REDACTED:github_token]"),
        ("slack xoxb-1234567890-abcdefghij", "slack [REDACTED:slack_token]"),
        ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz012", "[REDACTED:anthropic_key]"),
        ("OPENAI=sk-proj-abc123def456ghi789jkl012", "OPENAI=[REDACTED:openai_key]"),
        (f"cookie {JWT}", "cookie [REDACTED:jwt]"),
        (
            "git clone https://ada:hunter2@example.com/r.git",
            "git clone https://ada:***@example.com/r.git",
        ),
        (
            "https://x.io/cb?code=1&token=abc.def",
            "https://x.io/cb?code=1&token=[REDACTED:url_param]",
        ),
        ("GITHUB_TOKEN=abc123 gh pr list", "GITHUB_TOKEN=[REDACTED:env_secret] gh pr list"),
        ('export DB_PASSWORD="s3cr3t x"', "export DB_PASSWORD=[REDACTED:env_secret]"),
        (
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG",
            "AWS_SECRET_ACCESS_KEY=[REDACTED:env_secret]",
        ),
        ('{"api_key": "abc123", "n": 1}', '{"api_key": "[REDACTED:json_secret]", "n": 1}'),
        ("user: bob\npassword: hunter2\n", "user: bob\npassword: [REDACTED:config_secret]\n"),
        (f"GITHUB_TOKEN={GH}", "GITHUB_TOKEN=[REDACTED:github_token]"),
    ],
)
def test_secrets_in_text_are_redacted(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "commit 3f2c9a1b8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b on main",
        "edited src/auth/token_store.py and tests/test_api_key.py",
        "/home/ada/.ssh/id_rsa.pub",
        "Bearer tokens are explained in docs/auth.md; Basic authentication too.",
        "see https://github.com/org/repo.git and git@github.com:org/repo.git",
        "https://host:8080/path?email=a@b.c",
        "the task-management-system-redesign-v2 branch, sk-learn, risk-assessment-2024-q3-v1",
        "max_tokens: 1000 input_tokens=42",
        "MYTOKEN=abc is not an env secret name; my_TOKEN=x neither",
        "ASIAN and AKIA are words; ghp_ alone is too short",
        "The password field is validated on submit.",
        "The user must authorize, see Authorization header docs",
        "x = a == b and key=value",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("Authorization", "authorization"),
        ("password", "password"),
        ("DB_PASSWD", "password"),
        ("client_secret", "secret"),
        ("refresh_token", "token"),
        ("X-Api-Key", "api_key"),
        ("apiKey".lower(), "api_key"),
        ("aws_access_key", "access_key"),
        ("private_key", "private_key"),
        ("Cookie", "cookie"),
        ("Set-Cookie", "cookie"),
        ("max_tokens", None),
        ("token_count", None),
        ("author", None),
        ("key", None),
        ("primary_key_id", None),
    ],
)
def test_secret_key_kind(key: str, kind: str | None) -> None:
    assert secret_key_kind(key) == kind


def test_redact_walks_dicts_and_lists_and_keeps_structure() -> None:
    payload = {
        "headers": {"Authorization": "Bearer x", "Accept": "text/html"},
        "env": [{"name": "A", "password": "p"}, f"TOKEN={GH}"],
        "usage": {"input_tokens": 10, "token": {"count": 3}},
        "password": "",
        "secret": None,
        "api_key": 12345,
        "has_password": True,
        "text": "nothing here",
    }
    before = copy.deepcopy(payload)
    out = redact(payload)
    assert payload == before  # pure: the input is untouched
    assert out == {
        "headers": {"Authorization": "[REDACTED:authorization]", "Accept": "text/html"},
        "env": [{"name": "A", "password": "[REDACTED:password]"}, "TOKEN=[REDACTED:github_token]"],
        "usage": {"input_tokens": 10, "token": {"count": 3}},
        "password": "",
        "secret": None,
        "api_key": "[REDACTED:api_key]",
        "has_password": True,
        "text": "nothing here",
    }


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_redact_is_idempotent_and_pure(payload: dict[str, object]) -> None:
    before = copy.deepcopy(payload)
    once = redact(payload)
    assert payload == before
    assert redact(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789abcdef", min_size=7, max_size=40))
def test_hex_shas_never_change(sha: str) -> None:
    assert redact_text(f"commit {sha}") == f"commit {sha}"
