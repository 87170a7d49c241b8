# ruff: noqa: E501  (test data: one secret per line reads best)
"""Test data: realistic secrets and harmless look-alikes, for redaction recall and
false-positive figures (issue 12).

Every secret is generated from a fixed seed in the shape its provider issues
(prefix, alphabet, length), so none is real and the corpus is the same on every
run. ``SECRETS`` maps a kind to ``(secret, how it appears in text)``: the
context is what an agent would see (a command, an env file, a config line,
a header); ``{s}`` marks the secret.
"""

from __future__ import annotations

import base64
import random
import string

_rng = random.Random(20261202)
ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
B64URL = ALNUM + "-_"
B64 = ALNUM + "+/"


def _r(alphabet: str, n: int) -> str:
    # At least one digit and one letter when the alphabet has both, as real tokens do.
    mixed = any(c.isdigit() for c in alphabet) and any(c.isalpha() for c in alphabet)
    while True:
        out = "".join(_rng.choice(alphabet) for _ in range(n))
        if not mixed or (any(c.isdigit() for c in out) and any(c.isalpha() for c in out)):
            return out


def _pem(label: str) -> str:
    body = base64.b64encode(bytes(_rng.randrange(256) for _ in range(600))).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    + base64.urlsafe_b64encode(b'{"sub":"1234567890","name":"dev","iat":1716239022}')
    .decode()
    .rstrip("=")
    + "."
    + _r(B64URL, 43)
)

#: kind -> (secret, context)
SECRETS: dict[str, tuple[str, str]] = {
    "github_pat": ("ghp_" + _r(ALNUM, 36), "git push https://x-access-token:{s}@github.com/o/r"),
    "github_oauth": ("gho_" + _r(ALNUM, 36), "GH_TOKEN={s} gh pr list"),
    "github_user_to_server": ("ghu_" + _r(ALNUM, 36), "token: {s}"),
    "github_server_to_server": ("ghs_" + _r(ALNUM, 36), "using installation token {s} now"),
    "github_refresh": ("ghr_" + _r(ALNUM, 36), "refresh with {s}"),
    "github_fine_grained": (
        "github_pat_" + _r(ALNUM, 22) + "_" + _r(ALNUM, 59),
        "export GITHUB_PAT={s}",
    ),
    "gitlab_pat": (
        "glpat-" + _r(B64URL, 20),
        "curl --header 'PRIVATE-TOKEN: {s}' https://gitlab.com/api/v4/projects",
    ),
    "gitlab_trigger": (
        "glptt-" + _r(HEX, 40),
        "curl -X POST -F token={s} -F ref=main https://gitlab.example.com/api/v4/projects/9/trigger/pipeline",
    ),
    "gitlab_runner": ("glrt-" + _r(B64URL, 20), "gitlab-runner register --token {s}"),
    "aws_access_key": ("AKIA" + _r(UPPER_ALNUM, 16), "aws_access_key_id = {s}"),
    "aws_temporary_key": ("ASIA" + _r(UPPER_ALNUM, 16), "AccessKeyId: {s}"),
    "aws_secret_key": (_r(B64, 40), "aws_secret_access_key = {s}"),
    "aws_secret_env": (_r(B64, 40), "export AWS_SECRET_ACCESS_KEY={s}"),
    "slack_bot": (
        "xoxb-" + _r(string.digits, 12) + "-" + _r(string.digits, 13) + "-" + _r(ALNUM, 24),
        "SLACK_BOT_TOKEN={s}",
    ),
    "slack_user": (
        "xoxp-"
        + _r(string.digits, 12)
        + "-"
        + _r(string.digits, 12)
        + "-"
        + _r(string.digits, 13)
        + "-"
        + _r(HEX, 32),
        "slack token {s}",
    ),
    "slack_app": (
        "xapp-1-A" + _r(UPPER_ALNUM, 10) + "-" + _r(string.digits, 13) + "-" + _r(HEX, 64),
        "app token {s}",
    ),
    "slack_webhook": (
        "https://hooks.slack.com/services/T"
        + _r(UPPER_ALNUM, 8)
        + "/B"
        + _r(UPPER_ALNUM, 10)
        + "/"
        + _r(ALNUM, 24),
        "curl -X POST {s} -d @msg.json",
    ),
    "stripe_live": ("sk_live_" + _r(ALNUM, 99), "stripe.api_key = '{s}'"),
    "stripe_restricted": ("rk_live_" + _r(ALNUM, 99), "STRIPE_KEY={s}"),
    "stripe_test": ("sk_test_" + _r(ALNUM, 99), "curl https://api.stripe.com/v1/charges -u {s}:"),
    "stripe_webhook": ("whsec_" + _r(ALNUM, 32), "endpoint secret {s}"),
    "openai_project": ("sk-proj-" + _r(B64URL, 120), "OPENAI_API_KEY={s}"),
    "openai_legacy": ("sk-" + _r(ALNUM, 48), 'client = OpenAI(api_key="{s}")'),
    "anthropic": ("sk-ant-api03-" + _r(B64URL, 93) + "AA", "x-api-key: {s}"),
    "google_api_key": (
        "AIza" + _r(B64URL, 35),
        "https://maps.googleapis.com/maps/api/geocode/json?address=x&key={s}",
    ),
    "google_oauth_secret": ("GOCSPX-" + _r(B64URL, 28), "client_secret: {s}"),
    "gcp_service_account": (
        _pem("PRIVATE KEY"),
        '{{"type": "service_account", "private_key": "{s}"}}',
    ),
    "azure_storage_key": (
        _r(B64, 86) + "==",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={s};EndpointSuffix=core.windows.net",
    ),
    "azure_sas": (
        _r(B64URL, 43) + "%3D",
        "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&se=2026-12-31&sp=r&sig={s}",
    ),
    "azure_client_secret": (_r(ALNUM, 3) + "8Q~" + _r(B64URL, 34), "AZURE_CLIENT_SECRET={s}"),
    "npm_token": ("npm_" + _r(ALNUM, 36), "//registry.npmjs.org/:_authToken={s}"),
    "npm_token_prose": ("npm_" + _r(ALNUM, 36), "npm token created: {s}"),
    "pypi_token": (
        "pypi-AgEIcHlwaS5vcmc" + _r(B64URL, 150),
        "twine upload -u __token__ -p {s} dist/*",
    ),
    "sendgrid": ("SG." + _r(B64URL, 22) + "." + _r(B64URL, 43), "sg = SendGridAPIClient('{s}')"),
    "twilio_api_key": ("SK" + _r(HEX, 32), "twilio api key sid {s}"),
    "twilio_auth_token": (_r(HEX, 32), "TWILIO_AUTH_TOKEN={s}"),
    "mailgun": (
        "key-" + _r(HEX, 32),
        "curl -s --user 'api:{s}' https://api.mailgun.net/v3/x/messages",
    ),
    "mailchimp": (_r(HEX, 32) + "-us12", "mailchimp api key {s}"),
    "vault_service": ("hvs." + _r(B64URL, 90), "VAULT_TOKEN={s} vault kv get secret/app"),
    "vault_batch": ("hvb." + _r(B64URL, 120), "vault login {s}"),
    "terraform_cloud": (
        _r(ALNUM, 14) + ".atlasv1." + _r(ALNUM, 67),
        'credentials "app.terraform.io" {{ token = "{s}" }}',
    ),
    "digitalocean": ("dop_v1_" + _r(HEX, 64), "doctl auth init -t {s}"),
    "shopify": ("shpat_" + _r(HEX, 32), "X-Shopify-Access-Token: {s}"),
    # Base64 of the bot's numeric id, a timestamp, an HMAC.
    "discord_bot": (
        base64.b64encode(str(_rng.randrange(10**17, 10**18)).encode()).decode().rstrip("=")
        + "."
        + _r(B64URL, 6)
        + "."
        + _r(B64URL, 38),
        "client.run('{s}')",
    ),
    "telegram_bot": (
        _r(string.digits, 10) + ":AA" + _r(B64URL, 33),
        "https://api.telegram.org/bot{s}/sendMessage",
    ),
    "jwt": (_JWT, "cookie session={s}; path=/"),
    "rsa_private_key": (_pem("RSA PRIVATE KEY"), "{s}"),
    "openssh_private_key": (_pem("OPENSSH PRIVATE KEY"), "cat ~/.ssh/id_ed25519\n{s}\n"),
    "ec_private_key": (_pem("EC PRIVATE KEY"), "{s}"),
    "pgp_private_key": (_pem("PGP PRIVATE KEY BLOCK"), "{s}"),
    "bearer_header": (
        _r(B64URL, 40),
        "curl -H 'Authorization: Bearer {s}' https://api.example.com",
    ),
    "basic_header": (
        base64.b64encode(b"deploy:" + _r(ALNUM, 16).encode()).decode(),
        "Authorization: Basic {s}",
    ),
    "okta_ssws": ("00" + _r(B64URL, 40), "Authorization: SSWS {s}"),
    "url_password": (_r(ALNUM, 14), "git clone https://dev:{s}@git.example.com/team/repo.git"),
    "postgres_url": (_r(ALNUM, 18), "DATABASE_URL=postgres://app:{s}@db.internal:5432/app"),
    "mysql_p": (_r(ALNUM, 14), "mysql -u root -p{s} -h 127.0.0.1 shop"),
    "password_flag": (_r(ALNUM, 14), "psql --host db --password={s}"),
    "password_flag_spaced": (
        _r(ALNUM, 14),
        "docker login --username ci --password {s} registry.example.com",
    ),
    "env_password": (_r(ALNUM, 16), "DB_PASSWORD={s}"),
    "export_api_key": (_r(ALNUM, 32), 'export API_KEY="{s}"'),
    "yaml_secret": (_r(ALNUM, 24), "  client_secret: {s}"),
    "json_password": (_r(ALNUM, 16), '{{"username": "admin", "password": "{s}"}}'),
    "docker_auth": (
        base64.b64encode(b"ci:" + _r(ALNUM, 20).encode()).decode(),
        '{{"auths": {{"registry.example.com": {{"auth": "{s}"}}}}}}',
    ),
    "netrc": (_r(ALNUM, 16), "machine api.example.com login dev password {s}"),
    "huggingface": ("hf_" + _r(ALNUM, 34), "huggingface-cli login --token {s}"),
    "databricks": ("dapi" + _r(HEX, 32), "DATABRICKS_TOKEN={s}"),
    "linear": ("lin_api_" + _r(ALNUM, 40), "linear key {s}"),
    "notion": ("ntn_" + _r(ALNUM, 46), "notion integration secret {s}"),
    "atlassian": ("ATATT3xFfGF0" + _r(B64URL, 180) + "=" + _r(HEX, 8), "jira token {s}"),
    "newrelic": ("NRAK-" + _r(UPPER_ALNUM, 27), "NEW_RELIC_API_KEY={s}"),
    "datadog": (_r(HEX, 32), "DD_API_KEY={s} datadog-agent run"),
    "sentry_auth": ("sntrys_" + _r(B64URL, 120), "SENTRY_AUTH_TOKEN={s}"),
    "grafana_sa": ("glsa_" + _r(ALNUM, 32) + "_" + _r(HEX, 8), "grafana token {s}"),
    "age_secret": ("AGE-SECRET-KEY-1" + _r(UPPER_ALNUM, 58), "{s}"),
    "square": ("EAAA" + _r(B64URL, 60), "square access token {s}"),
    "cloudflare_token": (_r(B64URL, 40), "CLOUDFLARE_API_TOKEN={s}"),
    "heroku": ("HRKU-" + _r(B64URL, 60), "heroku auth token {s}"),
    "kube_token": (_r(B64URL, 60), "users:\n- name: ci\n  user:\n    token: {s}\n"),
}

#: Harmless strings that look like secrets (hashes, ids, code naming a secret
#: without holding one, placeholders, counters): redaction must leave them be.
HARMLESS: list[str] = [
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "integrity sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+susLRXlMTBfwFP8hBhW8sgu5PJ/o8s1g==",
    "request id 123e4567-e89b-12d3-a456-426614174000",
    "SECRET_KEY = os.environ['SECRET_KEY']",
    "PARTITION_KEY=tenant_id",
    "GET /items?key=created_at&order=desc",
    "max_tokens: 4096",
    "input_tokens=1532 output_tokens=212",
    "password_reset_url = reverse('password_reset')",
    "token_count = len(tokenizer.encode(text))",
    "api_key_header = 'X-Api-Key'",
    "pip install scikit-learn-intelex",
    "the prefix ghp_ marks classic GitHub tokens",
    "AWS keys start with AKIA",
    "npm_config_cache=/tmp/npm",
    "use sk_live_... in production and sk_test_... in tests",
    "Bearer token required",
    "Authorization header missing",
    "password: ********",
    "password=<your password>",
    "token=${GITHUB_TOKEN}",
    "PASSWORD=$DB_PASSWORD",
    "export API_KEY=${API_KEY:?missing}",
    "version 1.24.3-rc.1+build.5",
    "docker.io/library/python@sha256:2bb1e84a1b52a2b4d68b3b6f7d6c4b8d2e7c6f2a1b0c9d8e7f6a5b4c3d2e1f0a",
    "kubectl get pods -n payments-service-7f9c8d6b5",
    "color: #3f786850; background: #ffffff",
    "def get_secret_key(settings): return settings.SECRET_KEY",
    "class TokenRefresher(AbstractRefresher):",
    "secret_santa.assign(participants)",
    "https://user@example.com/repo.git",
    "ssh git@github.com:org/repo.git",
    "contact dev@example.com or 192.168.10.24",
    "uuid4 = 550e8400-e29b-41d4-a716-446655440000",
    "PRIMARY KEY (session_id, seq)",
    "ALTER TABLE users ADD COLUMN api_key_hash TEXT",
    "if not request.headers.get('Authorization'):",
    "The session token expires after 30 minutes.",
    "git log --oneline | head -5  # 3f78685 fix, 9a1b2c3 add",
    "base64 of the logo: iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
    "cache key: user:42:profile:v3",
    "lockfile hash e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "test_password_is_hashed_with_argon2",
    "--password-file /run/secrets/db",
    "mysql -u root -p shop",
    "read -s -p 'Password: ' PASSWORD",
    "CLIENT_SECRET_PATH=/etc/app/client_secret.json",
    "const token = await getToken();",
    "tokens = text.split()",
    "secret: !vault |",
    "keyboard_layout = 'us'",
    "the monkey key was under the mat",
    "order id ORD-2026-000183, invoice INV-88231",
]
