"""Secret redaction for event payloads, applied before anything is stored.

``redact()`` returns a copy of a JSON payload in which secrets are replaced by
``[REDACTED:<kind>]``: values of secret-named keys (``password``, ``token``,
``authorization``...) and secrets recognised inside strings (bearer tokens,
PEM private keys, cloud and SaaS API keys, JWTs, passwords in URLs, secret
environment assignments). It runs on every append, so the patterns are
compiled once and written so that ordinary text is rejected at C speed.

The patterns prefer missing an odd secret format to mangling ordinary text:
git shas, file paths and prose about "tokens" pass through unchanged.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

MARK = "[REDACTED:{}]"
"""Replacement text; the braces hold the kind of secret."""

# Key names (lower-cased, '-' read as '_') whose values are secrets. A key
# matches when it is one of these, or ends with '_' + one of these
# (``refresh_token``, ``db_password``, ``x_api_key``). Plurals such as
# ``max_tokens`` or ``input_tokens`` are counts, not secrets, and do not match.
_SECRET_KEY = re.compile(
    r"^(?:.*_)?(?P<kind>authorization|password|passwd|passphrase|secret|token|"
    r"api_?key|access_?key|private_?key|secret_?key|cookie|set_cookie|credentials?)$"
)
_KIND_OF_KEY = {
    "apikey": "api_key",
    "accesskey": "access_key",
    "privatekey": "private_key",
    "secretkey": "secret_key",
    "passwd": "password",
    "passphrase": "password",
    "credential": "credentials",
    "set_cookie": "cookie",
}

# Names for secret keys inside text (config files, JSON or YAML in tool output).
_TEXT_KEY = (
    r"(?:[A-Za-z0-9]+[_-])*(?:password|passwd|passphrase|secret|token|api[_-]?key|"
    r"access[_-]?key|private[_-]?key|secret[_-]?key|client[_-]?secret)"
)
_NOT_REDACTED = r"(?!\[REDACTED:)"
# Lower-case words one of which a secret-named key in text must contain.
_KEY_WORDS = ("password", "passwd", "passphrase", "secret", "token", "key")
# An environment variable name that holds a secret, ending where the match opens.
_ENV_NAME = re.compile(
    r"(?<![A-Za-z0-9_])(?:[A-Z0-9]+_)*(?:[A-Z0-9]+_(?:KEY|PWD)|TOKEN|SECRET|PASSWORD|PASSWD"
    r"|PASSPHRASE|CREDENTIALS?)\Z"
)


class _Pattern(NamedTuple):
    """One secret shape; ``gate`` lists substrings one of which must occur for a match.

    Gates are tested with ``in`` before the regex runs: most strings hold no
    secret, and an ``in`` test is far cheaper than even a failing regex call.
    Patterns open with a literal where they can (``g``, ``eyJ``, ``://``, ``=``)
    so that, once gated in, Python's engine skips ahead to it at C speed; their
    boundary checks sit in look-behinds *after* the literal for that reason.
    """

    kind: str
    body: str
    gate: tuple[str, ...]
    lower: bool = False
    """Test the gate against the lower-cased text (case-insensitive patterns)."""

    @property
    def regex(self) -> re.Pattern[str]:
        """The compiled pattern, built the first time a gate lets text through: a
        short-lived process (an agent hook) compiles only the patterns it needs."""
        return _compiled(self.body)


@functools.cache
def _compiled(body: str) -> re.Pattern[str]:
    return re.compile(body)


def _p(kind: str, body: str, gate: tuple[str, ...], *, lower: bool = False) -> _Pattern:
    return _Pattern(kind, body, gate, lower)


# Applied in this order; each later pattern skips values already redacted, so
# the specific token shapes name the secret and the generic rules mop up.
# A ``keep`` group (a header name, ``KEY=``) stays in place.
_PATTERNS: tuple[_Pattern, ...] = (
    # A truncated payload may cut the block: redact to the end then.
    _p(
        "private_key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        ("PRIVATE KEY",),
    ),
    _p(
        "aws_access_key",
        r"A(?:KIA|SIA|BIA|CCA)(?<![A-Za-z0-9]....)[A-Z0-9]{16}(?![A-Za-z0-9])",
        ("AKIA", "ASIA", "ABIA", "ACCA"),
    ),
    _p(
        "github_token",
        r"g(?<![A-Za-z0-9_]g)(?:h[pousr]_[A-Za-z0-9]{30,}|ithub_pat_[A-Za-z0-9_]{22,})",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    _p("slack_token", r"x(?<![A-Za-z0-9_]x)(?:ox[abposr]|app)-[A-Za-z0-9-]{10,}", ("xox", "xapp-")),
    _p("anthropic_key", r"sk-ant-(?<![A-Za-z0-9_-]sk-ant-)[A-Za-z0-9_-]{20,}", ("sk-ant-",)),
    # OpenAI keys always carry digits; demanding one spares kebab-case names.
    _p("openai_key", r"sk-(?<![A-Za-z0-9_-]sk-)(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}", ("sk-",)),
    _p(
        "jwt",
        r"eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        ("eyJ",),
    ),
    # More providers' token shapes: a fixed prefix, then the provider's alphabet
    # and length (GitLab, Stripe, npm, PyPI, SendGrid, Twilio, Mailgun, Mailchimp,
    # Vault, Terraform Cloud, DigitalOcean, Telegram, Hugging Face, Linear, Notion,
    # Atlassian, Grafana, age, Square, Heroku, Shopify, Databricks).
    _p(
        "gitlab_token",
        r"gl(?<![A-Za-z0-9_]gl)(?:pat|ptt|rt|dt|cbt|soat|ft|imt|agent)-[A-Za-z0-9_-]{20,}",
        ("glpat-", "glptt-", "glrt-", "gldt-", "glcbt-", "glsoat-", "glft-", "glimt-", "glagent-"),
    ),
    _p(
        "slack_webhook",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{20,}",
        ("hooks.slack.com",),
    ),
    _p(
        "stripe_key",
        r"(?:sk|rk)_(?<![A-Za-z0-9_][sr]k_)(?:live|test)_[A-Za-z0-9]{16,}"
        r"|whsec_(?<![A-Za-z0-9_]whsec_)[A-Za-z0-9]{24,}",
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"),
    ),
    _p("npm_token", r"npm_(?<![A-Za-z0-9_]npm_)[A-Za-z0-9]{36}(?![A-Za-z0-9])", ("npm_",)),
    _p(
        "pypi_token",
        r"pypi-(?<![A-Za-z0-9_-]pypi-)Ag(?:EIcHlwaS5vcmc|ENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{40,}",
        ("pypi-Ag",),
    ),
    _p(
        "sendgrid_key",
        r"SG\.(?<![A-Za-z0-9_]SG\.)[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
        ("SG.",),
    ),
    _p("twilio_key", r"SK(?<![A-Za-z0-9_]SK)[0-9a-f]{32}(?![A-Za-z0-9])", ("SK",)),
    _p("mailgun_key", r"key-(?<![A-Za-z0-9_-]key-)[0-9a-f]{32}(?![A-Za-z0-9])", ("key-",)),
    _p(
        "mailchimp_key",
        r"-us(?<=[0-9a-f]{32}-us)\d{1,2}(?![A-Za-z0-9])",
        ("-us",),
    ),
    _p(
        "vault_token",
        r"hv[sbr]\.(?<![A-Za-z0-9_]hv.\.)[A-Za-z0-9_-]{24,}",
        ("hvs.", "hvb.", "hvr."),
    ),
    _p(
        "terraform_token",
        r"\.atlasv1\.(?<=[A-Za-z0-9]{14}\.atlasv1\.)[A-Za-z0-9_-]{60,}",
        (".atlasv1.",),
    ),
    _p("digitalocean_token", r"do[por]_v1_[a-f0-9]{64}", ("_v1_",)),
    _p(
        "telegram_token",
        r":AA(?<=\d{8}:AA)[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])",
        (":AA",),
    ),
    _p("huggingface_token", r"hf_(?<![A-Za-z0-9_]hf_)[A-Za-z0-9]{34,}", ("hf_",)),
    _p("linear_key", r"lin_api_[A-Za-z0-9]{32,}", ("lin_api_",)),
    _p(
        "notion_token",
        r"(?:ntn|secret)_(?<![A-Za-z0-9_](?:ntn|ret)_)[A-Za-z0-9]{40,}",
        ("ntn_", "secret_"),
    ),
    _p("atlassian_token", r"ATATT3[A-Za-z0-9_=-]{100,}", ("ATATT3",)),
    _p(
        "grafana_token",
        r"gl(?:sa|c)_(?<![A-Za-z0-9_]gl.._)[A-Za-z0-9_+/=-]{32,}",
        ("glsa_", "glc_"),
    ),
    _p("age_key", r"AGE-SECRET-KEY-1[A-Z0-9]{58}", ("AGE-SECRET-KEY-",)),
    _p(
        "square_token",
        r"(?:EAAA|sq0atp-|sq0csp-)(?<![A-Za-z0-9_-]EAAA)[A-Za-z0-9_-]{22,}",
        ("EAAA", "sq0atp-", "sq0csp-"),
    ),
    _p("heroku_key", r"HRKU-[A-Za-z0-9_-]{20,}", ("HRKU-",)),
    # Discord bot tokens: base64 of the bot's id (it opens with MT..OT), a
    # timestamp, an HMAC.
    _p(
        "discord_token",
        r"(?<![A-Za-z0-9_-])[MNO][TDjzQ][A-Za-z0-9_-]{22,26}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}"
        r"(?![A-Za-z0-9_-])",
        ("MT", "Mj", "Mz", "ND", "NT", "Nj", "Nz", "OD", "OT"),
    ),
    _p(
        "shopify_token",
        r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",
        ("shpat_", "shpca_", "shppa_", "shpss_"),
    ),
    _p("databricks_token", r"dapi(?<![A-Za-z0-9_]dapi)[a-f0-9]{32}(?![A-Za-z0-9])", ("dapi",)),
    _p(
        "azure_storage_key",
        r"(?P<keep>(?:AccountKey|SharedAccessKey)=)" + _NOT_REDACTED + r"[A-Za-z0-9+/]{40,}={0,2}",
        ("AccountKey=", "SharedAccessKey="),
    ),
    # Command lines: mysql -pSECRET, --password=SECRET, --password SECRET, netrc.
    _p(
        "password_flag",
        r"(?P<keep>\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n]*?\s-p)"
        + _NOT_REDACTED
        + r"[^\s'\"]+",
        ("mysql", "mariadb"),
    ),
    _p(
        "password_flag",
        r"(?P<keep>--(?:password|passwd|pass|token|api-key|secret|client-secret)[= ]+)"
        + _NOT_REDACTED
        + r"(?![$<{*-])[^\s'\"]+",
        ("--pass", "--token", "--api-key", "--secret", "--client-secret"),
    ),
    _p(
        "netrc_password",
        r"(?P<keep>machine\s+\S+\s+login\s+\S+\s+password\s+)" + _NOT_REDACTED + r"\S+",
        ("machine",),
    ),
    _p(
        "docker_auth",
        r"(?P<keep>\"auth\"\s*:\s*\")" + _NOT_REDACTED + r"[A-Za-z0-9+/]{12,}={0,2}(?=\")",
        ('"auth"',),
    ),
    # Header forms keep the header name and scheme, redact the credential.
    _p(
        "authorization",
        r"(?P<keep>[Aa](?<![A-Za-z0-9][Aa])uthorization[\"']?\s*[:=]\s*[\"']?"
        r"(?:(?i:Bearer|Basic|Token|Digest|Negotiate|Bot|SSWS)\s+)?)"
        + _NOT_REDACTED
        # The credential is never the scheme word itself (that happens when an
        # earlier pattern already redacted the credential after it).
        + r"(?!(?i:Bearer|Basic|Token|Digest|Negotiate|Bot|SSWS)\s)[^\s\"',;]+",
        ("uthorization",),
    ),
    # A bare bearer token in prose or logs; a real one contains a digit.
    _p(
        "bearer_token",
        r"(?P<keep>Bearer(?<![A-Za-z0-9]Bearer)\s+)"
        + _NOT_REDACTED
        + r"(?=[A-Za-z0-9._~+/-]*\d)[A-Za-z0-9._~+/-]{12,}=*",
        ("Bearer",),
    ),
    # scheme://user:password@host -> scheme://user:***@host
    _p("url_password", r"(?P<keep>://[^\s/:@]*:)[^\s/@]+(?=@)", ("://",)),
    # ?password=...&token=... in URLs.
    _p(
        "url_param",
        r"(?P<keep>[?&](?i:password|passwd|pwd|token|access_token|api_?key|"
        r"secret|client_secret|key|sig|signature)=)" + _NOT_REDACTED + r"[^&\s#\"']+",
        ("=",),
    ),
    # Environment assignments: GITHUB_TOKEN=..., export DB_PASSWORD="...". The
    # match opens at "=" (fast); the replacer checks the whole name before it.
    _p(
        "env_secret",
        r"(?P<keep>=(?<=(?:KEY|PWD|KEN|RET|ORD|SWD|ASE|IAL|ALS)=))"
        + _NOT_REDACTED
        + r"(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s'\"]+)",
        ("=",),
    ),
    # JSON text inside a string: "api_key": "value".
    _p(
        "json_secret",
        r"(?P<keep>\"(?i:" + _TEXT_KEY + r")\"\s*:\s*\")" + _NOT_REDACTED + r"[^\"\n]+(?=\")",
        _KEY_WORDS,
        lower=True,
    ),
    # YAML / INI / .env lines: `password: value`, `db_password = value`.
    _p(
        "config_secret",
        # A leading + or - is a diff's: the line was added or removed.
        r"(?P<keep>(?m:^)[+-]?[ \t]*(?:export[ \t]+)?(?i:"
        + _TEXT_KEY
        + r")[ \t]*[:=][ \t]*)"
        + _NOT_REDACTED
        + r"(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s'\"#][^\n#]*)",
        _KEY_WORDS,
        lower=True,
    ),
)
# Strings shorter than the shortest secret we recognise skip the scan.
_MIN_LEN = 8


#: Kinds found by a secret-sounding name rather than a token's own shape: their
#: value may be a placeholder or a reference, which is left alone.
_BY_NAME = frozenset({"env_secret", "config_secret", "json_secret", "url_param", "password_flag"})
_REFERENCE_STARTS = (
    "os.environ", "os.getenv", "getenv(", "process.env", "env(", "ENV[", "settings.",
    "config.", "secrets.", "vars.",
)  # fmt: skip


def _is_reference(value: str) -> bool:
    """A placeholder or a reference to a secret kept elsewhere, not a secret:
    ``$VAR``, ``${VAR}``, ``<your password>``, ``{{ secret }}``, ``********``,
    ``!vault``, ``os.environ[...]``."""
    v = value.strip().strip("\"'")
    return (
        not v
        or v[0] in "$<{!%"
        or set(v) <= {"*", "x", "X", "."}
        or v.startswith(_REFERENCE_STARTS)
    )


def _is_key_like(value: str) -> bool:
    """A value that could be a key: long, or letters mixed with digits.

    Names ending in ``KEY`` also name database and cache keys
    (``PARTITION_KEY=tenant_id``, ``?key=created_at``), whose values are words.
    """
    v = value.strip("\"'")
    if len(v) >= 20:
        return True
    return len(v) >= 8 and any(c.isdigit() for c in v) and any(c.isalpha() for c in v)


def _keyish(name: str) -> bool:
    """Whether a name says "key" without saying secret, token or password."""
    upper = name.upper().replace("-", "_")
    return upper.endswith("KEY") and not any(
        word in upper for word in ("SECRET", "TOKEN", "PASSWORD", "PRIVATE", "API", "ACCESS")
    )


def _replacer(pattern: _Pattern) -> Callable[[re.Match[str]], str]:
    mark = MARK.format(pattern.kind)
    if pattern.kind == "url_password":
        # The familiar user:***@host form reads better inside a URL.
        return lambda match: match.group("keep") + "***"
    by_name = pattern.kind in _BY_NAME
    if pattern.kind == "env_secret":

        def env(match: re.Match[str]) -> str:
            start = match.start()
            # Names longer than 100 characters are not worth the look-back.
            name = _ENV_NAME.search(match.string[max(0, start - 100) : start])
            value = match.group(0)[len(match.group("keep")) :]
            if name is None or _is_reference(value):
                return match.group(0)
            if _keyish(name.group(0)) and not _is_key_like(value):
                return match.group(0)
            return match.group("keep") + mark

        return env
    if "(?P<keep>" in pattern.body:

        def keep(match: re.Match[str]) -> str:
            kept = match.group("keep")
            if by_name:
                value = match.group(0)[len(kept) :]
                if _is_reference(value):
                    return match.group(0)
                name = kept.rstrip(" \t:=\"'").lstrip('?&"').split()[-1] if kept.strip() else ""
                if _keyish(name) and not _is_key_like(value):
                    return match.group(0)
            return kept + mark

        return keep
    return lambda match: mark


_REPLACERS = tuple(_replacer(pattern) for pattern in _PATTERNS)
#: Kinds recognised by a name or a syntax around the secret. Every other kind is
#: a token with its own shape, which always holds a run of 20 or more token
#: characters: text without such a run (most prose, paths, code) skips their
#: gates altogether, so adding providers costs ordinary text nothing.
_CONTEXT_KINDS = _BY_NAME | {
    "authorization", "bearer_token", "url_password", "netrc_password", "docker_auth",
    "private_key",
}  # fmt: skip
_LONG_RUN = re.compile(r"[A-Za-z0-9_.+/=-]{20}")
# Gates flattened to (word, pattern index): one comprehension tests them all,
# which costs far less than a generator per pattern on short strings.
_CASE_GATES = tuple(
    (w, i)
    for i, p in enumerate(_PATTERNS)
    if not p.lower and p.kind in _CONTEXT_KINDS
    for w in p.gate
)
_LONG_GATES = tuple(
    (w, i)
    for i, p in enumerate(_PATTERNS)
    if not p.lower and p.kind not in _CONTEXT_KINDS
    for w in p.gate
)
_LOWER_GATES = tuple((w, i) for i, p in enumerate(_PATTERNS) if p.lower for w in p.gate)


def _any_of(gates: Sequence[tuple[str, int]]) -> re.Pattern[str]:
    """One search for any gate word: most strings hold none, and one C-speed search
    answers that in half the time of testing the words one by one."""
    words = sorted({re.escape(word) for word, _ in gates}, key=len, reverse=True)
    return re.compile("|".join(words))


@functools.cache
def _gate_searches() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The three gate searches, compiled on first use (a hook call may redact nothing)."""
    return _any_of(_CASE_GATES), _any_of(_LONG_GATES), _any_of(_LOWER_GATES)


class UserRules(NamedTuple):
    """The user's own rules: extra patterns (redacted as ``custom``) and strings
    never to redact (a test fixture's fake key, a public id that looks like a token)."""

    patterns: tuple[re.Pattern[str], ...] = ()
    allow: tuple[str, ...] = ()


_user_rules = UserRules()
_CUSTOM_MARK = MARK.format("custom")


def set_user_rules(patterns: Sequence[str] = (), allow: Sequence[str] = ()) -> list[str]:
    """Use these rules from now on, in this process; returns the problems (a pattern
    that does not compile is skipped and named)."""
    global _user_rules
    compiled: list[re.Pattern[str]] = []
    problems: list[str] = []
    for text in patterns:
        try:
            compiled.append(re.compile(text))
        except re.error as error:
            problems.append(f"redaction pattern {text!r} skipped: {error}")
    _user_rules = UserRules(tuple(compiled), tuple(a for a in allow if a))
    return problems


def redact_text(text: str) -> str:
    """``text`` with recognised secrets replaced.

    >>> redact_text("curl -H 'Authorization: Bearer abc123def456ghi' https://x")
    "curl -H 'Authorization: Bearer [REDACTED:authorization]' https://x"
    >>> redact_text("git clone https://me:hunter2@example.com/r.git")
    'git clone https://me:***@example.com/r.git'
    """
    rules = _user_rules
    if rules.patterns or rules.allow:
        return _redact_with(text, rules)
    return _redact_builtin(text)


def _redact_with(text: str, rules: UserRules) -> str:
    # Allow-listed strings are swapped for markers no pattern matches, then put back.
    kept: list[str] = []
    for allowed in rules.allow:
        if allowed in text:
            kept.append(allowed)
            text = text.replace(allowed, f"\x00{len(kept) - 1}\x00")
    text = _redact_builtin(text)
    for pattern in rules.patterns:
        text = pattern.sub(_CUSTOM_MARK, text)
    for index, allowed in enumerate(kept):
        text = text.replace(f"\x00{index}\x00", allowed)
    return text


def _redact_builtin(text: str) -> str:
    if len(text) < _MIN_LEN:
        return text
    long_run = _LONG_RUN.search(text) is not None
    lower = text.lower()
    case_any, long_any, lower_any = _gate_searches()
    if (
        case_any.search(text) is None
        and (not long_run or long_any.search(text) is None)
        and lower_any.search(lower) is None
    ):
        return text  # no gate open: no pattern can match
    active = {i for word, i in _CASE_GATES if word in text}
    if long_run:
        active.update(i for word, i in _LONG_GATES if word in text)
    active.update(i for word, i in _LOWER_GATES if word in lower)
    # Run in precedence order: earlier, more specific patterns name the secret.
    for i in sorted(active):
        text = _PATTERNS[i].regex.sub(_REPLACERS[i], text)
    return text


def secret_key_kind(key: str) -> str | None:
    """The kind of secret a payload key holds (``password``, ``token``...), or None.

    >>> secret_key_kind("X-Api-Key"), secret_key_kind("max_tokens")
    ('api_key', None)
    """
    match = _SECRET_KEY.match(key.lower().replace("-", "_"))
    if match is None:
        return None
    kind = match.group("kind")
    return _KIND_OF_KEY.get(kind, kind)


def redact(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``payload`` with secrets redacted; the input is left untouched.

    Values of secret-named keys are replaced when they are strings or numbers
    (containers under such keys are walked, not wiped, so structure survives);
    every other string is scanned for secrets.

    >>> redact({"headers": {"Authorization": "Bearer x"}, "n": 1})
    {'headers': {'Authorization': '[REDACTED:authorization]'}, 'n': 1}
    """
    return _redact_dict(payload)


def redact_value(value: Any) -> Any:
    """A copy of any JSON value with secrets redacted (keys and strings included)."""
    return _redact_value(value)


def redact_optional(text: str | None) -> str | None:
    """:func:`redact_text`, passing None through (optional text columns)."""
    return redact_text(text) if text else text


def _redact_dict(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for raw_key, item in value.items():
        # A key can hold a secret too (a token used as a map key).
        key = redact_text(raw_key) if isinstance(raw_key, str) else raw_key
        kind = secret_key_kind(key) if isinstance(key, str) else None
        if (
            kind is not None
            and isinstance(item, str | int | float)
            and not isinstance(item, bool)
            and item != ""
        ):
            out[key] = MARK.format(kind)
        else:
            out[key] = _redact_value(item)
    return out


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return _redact_dict(value)
    if isinstance(value, list):
        return [_redact_value(item) for item in value]
    return value
