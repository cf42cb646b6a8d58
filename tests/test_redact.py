"""Unit tests for the redactor: each rule on a realistic token and on a near miss, the JSON walk,
and the configuration (enabled, patterns, allow, emails, the extra hook).

Tokens are built at run time from a seeded generator, so no secret-shaped literal sits in the
repository for scanners to trip over, and each one has the real format's length and alphabet.
"""

from __future__ import annotations

import json
import random
import string

import pytest
from pydantic import ValidationError

from pytest_agentv.redact import KeyNames, NamedPattern, RedactionConfig, Redactor

_RNG = random.Random(20260101)
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def rand(alphabet: str, n: int) -> str:
    """Random characters; retried until mixed, as real keys almost always are."""
    while True:
        value = "".join(_RNG.choice(alphabet) for _ in range(n))
        if alphabet != ALNUM or (
            any(c.isdigit() for c in value)
            and any(c.isupper() for c in value)
            and any(c.islower() for c in value)
        ):
            return value


def jwt_part(payload: dict[str, object]) -> str:
    import base64

    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


JWT = ".".join(
    [
        jwt_part({"alg": "HS256", "typ": "JWT"}),
        jwt_part({"sub": "1234567890", "name": "Jo", "iat": 1516239022}),
        rand(ALNUM + "_-", 43),
    ]
)

# (rule id, text holding a real-format secret, the secret, a near miss that must stay as it is)
CASES: list[tuple[str, str, str, str]] = []


def case(rule: str, secret: str, near_miss: str, template: str = "{}") -> None:
    CASES.append((rule, template.format(secret), secret, near_miss))


case(
    "anthropic-api-key",
    "sk-ant-api03-" + rand(ALNUM + "_-", 93) + "AA",
    "export ANTHROPIC_API_KEY=sk-ant-api03-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "export ANTHROPIC_API_KEY={}",
)
case(
    "anthropic-admin-key",
    "sk-ant-admin01-" + rand(ALNUM + "_-", 93) + "AA",
    "the sk-ant- prefix marks Anthropic keys",
)
case(
    "openai-api-key",
    "sk-proj-" + rand(ALNUM + "_-", 156),
    "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "key: {}",
)
case(
    "openai-api-key",
    "sk-" + rand(ALNUM, 20) + "T3BlbkFJ" + rand(ALNUM, 20),
    "run sk-learn-compatible-estimators-for-everything-here",
)
case(
    "github-pat",
    "ghp_" + rand(ALNUM, 36),
    "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "git clone https://{}@github.com/o/r",
)
case("github-oauth", "gho_" + rand(ALNUM, 36), "gho_ is the OAuth token prefix")
case("github-app-token", "ghs_" + rand(ALNUM, 36), "ghs_short")
case("github-refresh-token", "ghr_" + rand(ALNUM, 76), "ghr_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
case(
    "github-fine-grained-pat",
    "github_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59),
    "see github_pat_ in the docs",
)
case("gitlab-pat", "glpat-" + rand(ALNUM + "_-", 20), "glpat-XXXXXXXXXXX-XXXXXXXX")
case("gitlab-token", "glrt-" + rand(ALNUM + "_-", 20), "glrt-tx_xxxxxxxxxxxxxxxxxxxxxxxxxxx")
case(
    "slack-token",
    "xoxb-" + rand("0123456789", 12) + "-" + rand("0123456789", 13) + "-" + rand(ALNUM, 24),
    "xoxb-xxxxxxxxx-xxxxxxxxxx-xxxxxxxxxxxx",
)
case(
    "slack-token",
    "xoxp-" + "-".join(rand("0123456789", 12) for _ in range(3)) + "-" + rand(HEX, 32),
    "xoxb-abcdef-abcdef",
)
case(
    "slack-app-token",
    "xapp-1-A"
    + rand("ABCDEFGHIJ0123456789", 10)
    + "-"
    + rand("0123456789", 13)
    + "-"
    + rand(HEX, 64),
    "xapp-1-xxx",
)
case(
    "slack-webhook",
    "https://hooks.slack.com/services/T"
    + rand(B32, 8)
    + "/B"
    + rand(B32, 10)
    + "/"
    + rand(ALNUM, 24),
    "https://api.slack.com/messaging/webhooks",
)
case("aws-access-key-id", "AKIA" + rand(B32, 16), "AKIAIOSFODNN7EXAMPLE")
case("aws-access-key-id", "ASIA" + rand(B32, 16), "TODAYINASIAASACKOFRICEFELLOVER")
case(
    "aws-secret-access-key",
    rand(ALNUM + "/+", 40),
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "aws_secret_access_key = {}",
)
case("gcp-api-key", "AIza" + rand(ALNUM + "_-", 35), "AIzaSyabcdefghijklmnopqrstuvwxyz1234567")
case("stripe-secret-key", "sk_live_" + rand(ALNUM, 99), "pk_live_" + rand(ALNUM, 24))
case("stripe-secret-key", "rk_test_" + rand(ALNUM, 99), "sk_live_")
case("stripe-webhook-secret", "whsec_" + rand(ALNUM, 32), "whsec_ prefix")
case(
    "sendgrid-api-key",
    "SG." + rand(ALNUM + "_-", 22) + "." + rand(ALNUM + "_-", 43),
    "SG.configure(retries=3)",
)
case("twilio-api-key", "SK" + rand(HEX, 32), "SKU-" + rand(HEX, 12))
case("npm-token", "npm_" + rand(ALNUM, 36), "//registry.npmjs.org/:_authToken=${NPM_TOKEN}")
case("pypi-token", "pypi-AgEIcHlwaS5vcmc" + rand(ALNUM + "_-", 150), "pip install pypi-simple")
case(
    "huggingface-token",
    "hf_" + rand(string.ascii_letters, 34),
    "- (id)hf_requiredCharacteristicTypesForDisplayMetadata;",
)
case(
    "azure-ad-client-secret",
    rand(ALNUM, 3) + "8Q~" + rand(ALNUM + "_.~-", 34),
    "client_secret=bP88Q~xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
)
case("databricks-token", "dapi" + rand(HEX, 32), "dapi is Databricks' prefix")
case("digitalocean-token", "dop_v1_" + rand(HEX, 64), "dop_v1_ tokens")
case("shopify-token", "shpat_" + rand(HEX, 32), "shpat_ is Shopify's")
case("mailchimp-api-key", rand(HEX, 32) + "-us14", "en-us locale")
case("linear-api-key", "lin_api_" + rand(ALNUM, 40), "lin_api_ prefix")
case(
    "notion-token",
    "ntn_" + rand("0123456789", 11) + rand(ALNUM, 35),
    "ntn_123456789012345678901234567890123456789012345678901234567890",
)
case("vault-token", "hvs." + rand(ALNUM + "_-", 91), "hvs." + "x" * 91)
case("vault-token", "s." + rand(ALNUM, 24), "s.AcceptanceTimeoutSeconds ")
case(
    "telegram-bot-token",
    rand("123456789", 10) + ":AA" + rand(ALNUM + "_-", 33),
    "arn:aws:sns:aaa:111122223333:aaaaaaaaaaaaaaaaaaassssssddddddddddddd",
)
case(
    "discord-bot-token",
    "MT" + rand(ALNUM, 24) + "." + rand(ALNUM, 6) + "." + rand(ALNUM, 38),
    "Mozilla.Firefox.Release",
)
case("facebook-access-token", "EAA" + rand(ALNUM, 180), "EAAaaaa")
case("sentry-token", "sntryu_" + rand(HEX, 64), "sntryu_ user tokens")
case(
    "grafana-token",
    "glsa_" + rand(ALNUM, 32) + "_" + rand(HEX, 8),
    "glsa_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX_AAAAAAAA",
)
case("doppler-token", "dp.pt." + rand(ALNUM, 43), "dp.pt.example")
case("new-relic-key", "NRAK-" + rand(B32, 27), "NRAK- keys")
case("postman-api-key", "PMAK-" + rand(HEX, 24) + "-" + rand(HEX, 34), "PMAK-123")
case("pulumi-token", "pul-" + rand(HEX, 40), "pul-request")
case("rubygems-api-key", "rubygems_" + rand(HEX, 48), "rubygems_org")
case(
    "sourcegraph-token",
    "sgp_" + rand(HEX, 16) + "_" + rand(HEX, 40),
    "sgp_5555555dAAAAA7777777CcccCFaaaaaaaaaaaaaa",
)
case("square-token", "sq0atp-" + rand(ALNUM + "_-", 22), "sq0atp-")
case(
    "perplexity-api-key",
    "pplx-" + rand(ALNUM, 48),
    "PERPLEXITY_API_KEY=pplx-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
)
case(
    "openshift-token",
    "sha256~" + rand(ALNUM + "_-", 43),
    "aws-cli@sha256:eaaa7b11777babe28e6133a8b19ff71cea687e0d7f05158dee95a71f76ce3d00",
)
case(
    "1password-token",
    "A3-" + rand(B32, 6) + "-" + rand(B32, 11) + "-" + "-".join(rand(B32, 5) for _ in range(3)),
    "A3-XXXXXX-XXXXXXXXXXX-XXXXX-XXXXX-XXXXX",
)
case(
    "age-secret-key",
    "AGE-SECRET-KEY-1" + rand("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58),
    "age public keys start age1",
)
case("jwt", JWT, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9")
case("jwt", JWT, "eyJBB.eyJCC.eyJDDDD", "Authorization: Bearer {}")
case(
    "authorization-header",
    rand(ALNUM, 40),
    "Authorization: Bearer $TOKEN",
    "Authorization: Bearer {}",
)
case(
    "authorization-header",
    rand(ALNUM + "+/", 28) + "==",
    'curl -H "Authorization: Bearer <Openverse API token>"',
    'curl -H "Authorization: Basic {}"',
)
case(
    "url-credentials",
    rand(ALNUM, 16),
    "https://user:<password>@example.com/repo.git",
    "postgres://app:{}@db.internal:5432/app",
)
case(
    "url-credentials",
    "hunter2",
    "https://url:8000/ @something else",
    "redis://default:{}@cache:6379",
)
case(
    "curl-credentials",
    "elastic:" + rand(ALNUM, 14),
    'curl -u "${USER}:${PASSWORD}" https://x',
    "curl -u {} https://localhost:9200",
)
case(
    "curl-credentials",
    "api:" + rand(ALNUM, 20),
    "curl --user user:pass --digest http://x",
    "curl -s --user '{}' https://api.example.net",
)
case(
    "private-key",
    "-----BEGIN RSA PRIVATE KEY-----\n"
    + "\n".join(rand(ALNUM + "+/", 64) for _ in range(5))
    + "\n-----END RSA PRIVATE KEY-----",
    "-----BEGIN PRIVATE KEY-----\nanything\n-----END PRIVATE KEY-----",
)
case(
    "private-key",
    "-----BEGIN OPENSSH PRIVATE KEY-----\n" + rand(ALNUM + "+/", 70) + "\n",
    "-----BEGIN PUBLIC KEY-----\n" + rand(ALNUM, 64) + "\n-----END PUBLIC KEY-----",
)
case(
    "bundler-credentials",
    "gemuser:" + rand(HEX, 16),
    "BUNDLE_PATH=vendor/bundle",
    "export BUNDLE_GEMS__EXAMPLE__COM={}",
)
case("secret-assignment", rand(ALNUM, 24), "max_tokens = 4096", 'password = "{}"')
case("secret-assignment", rand(ALNUM, 32), "token_count: 1234567890123", "API_KEY={}")
case("secret-assignment", rand(ALNUM, 20), 'api_key = "<YOUR_API_KEY>"', '"client_secret": "{}"')
case("secret-assignment", rand(ALNUM, 20), "password: ${DB_PASSWORD}", "db_pass: {}")
case(
    "secret-assignment",
    rand(ALNUM, 20),
    'clientId = "73082700-1f09-405b-80d0-3131bfd6272d"',
    "<apiToken>\n  {}\n</apiToken>",
)
case("secret-assignment", rand(ALNUM, 20), "public_key = " + rand(ALNUM, 40), 'if (secret == "{}")')
case(
    "secret-assignment",
    rand(ALNUM, 20),
    "secret_length = X25519.secret_length",
    'System.setProperty("SERVICE_TOKEN", "{}")',
)
case("secret-assignment", rand(ALNUM, 20), "password = var.db_password", "--password {} --host db")


@pytest.mark.parametrize(
    ("rule", "text", "secret", "near_miss"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_rule_catches_real_format_and_spares_near_miss(
    rule: str, text: str, secret: str, near_miss: str
) -> None:
    redactor = Redactor()
    out = redactor.text(text)
    assert secret not in out, f"{rule} missed: {out!r}"
    assert f"[REDACTED:{rule}]" in out, f"expected rule {rule}: {out!r}"
    assert redactor.text(near_miss) == near_miss


def test_url_credentials_keep_user_and_host() -> None:
    out = Redactor().text("git push https://deploy:s3cr3t-Passw0rd@git.example.com/o/r.git")
    assert out == "git push https://deploy:[REDACTED:url-credentials]@git.example.com/o/r.git"


def test_private_key_block_is_redacted_whole() -> None:
    body = "\n".join(rand(ALNUM, 64) for _ in range(4))
    text = f"key:\n-----BEGIN EC PRIVATE KEY-----\n{body}\n-----END EC PRIVATE KEY-----\nnext"
    assert Redactor().text(text) == "key:\n[REDACTED:private-key]\nnext"


def test_token_inside_serialised_json_escape_is_found() -> None:
    token = "ghp_" + rand(ALNUM, 36)
    line = json.dumps({"content": f"line one\n{token}\nline three"})
    out = Redactor().text(line)
    assert token not in out
    assert json.loads(out)["content"] == "line one\n[REDACTED:github-pat]\nline three"


@pytest.mark.parametrize(
    "name",
    [
        "max_tokens",
        "token_count",
        "input_tokens",
        "tokenizer",
        "keyword",
        "key_name",
        "credentialsId",
        "access_token_url",
        "secret_length",
        "passwordVariable",
        "public_key",
        "publicToken",
        "jsonwebtoken",
        "someotherpassword",
        "sequenceKey",
    ],
)
def test_names_that_do_not_hold_secrets(name: str) -> None:
    text = f'{name} = "{rand(ALNUM, 24)}"'
    assert Redactor().text(text) == text


# -- JSON ---------------------------------------------------------------------------------------


def test_json_redacts_string_values_in_place_and_keeps_shape() -> None:
    token = "ghp_" + rand(ALNUM, 36)
    event = {
        "role": "tool",
        "content": [{"type": "text", "text": f"export GITHUB_TOKEN={token}"}],
        "usage": {"input_tokens": 12, "output_tokens": 3, "max_tokens": 1024},
        "ok": True,
        "score": 0.5,
        "none": None,
    }
    out = Redactor().json(event, "transcript")
    assert out["content"][0]["text"] == "export GITHUB_TOKEN=[REDACTED:github-pat]"
    assert out["usage"] == event["usage"]
    assert {k: v for k, v in out.items() if k != "content"} == {
        k: v for k, v in event.items() if k != "content"
    }
    json.dumps(out)


def test_json_secret_named_key_redacts_value_of_any_shape() -> None:
    doc = {"api_key": "abc123xyz789def456", "password": "hunter2", "api_keys_count": 3}
    out = Redactor().json(doc)
    assert out == {
        "api_key": "[REDACTED:secret-field]",
        "password": "[REDACTED:secret-field]",
        "api_keys_count": 3,
    }


def test_json_keys_holding_a_secret_are_renamed_and_kept_apart() -> None:
    first, second = "ghp_" + rand(ALNUM, 36), "ghp_" + rand(ALNUM, 36)
    names = KeyNames()
    out = Redactor().json({first: 1, second: 2, "api_key_name": "x", "score": 3}, names=names)
    assert out == {
        "[REDACTED:github-pat]": 1,
        "[REDACTED:github-pat]~2": 2,
        "api_key_name": "x",
        "score": 3,
    }
    # the same key gets the same name in every object of the run
    assert Redactor().json({"tests": [{second: 5}]}, names=names) == {
        "tests": [{"[REDACTED:github-pat]~2": 5}]
    }


def test_json_keys_without_secrets_are_kept_even_in_a_suspicious_object() -> None:
    doc = {"password": "hunter2-but-longer", "max_tokens": 5, "nested": {"input_tokens": 1}}
    out = Redactor().json(doc)
    assert list(out) == ["password", "max_tokens", "nested"]
    assert out["password"] == "[REDACTED:secret-field]"
    assert out["nested"] == {"input_tokens": 1}


def test_json_authorization_keeps_scheme() -> None:
    out = Redactor().json({"headers": {"Authorization": "Bearer " + rand(ALNUM, 30)}})
    assert out == {"headers": {"Authorization": "Bearer [REDACTED:secret-field]"}}


def test_json_identifiers_are_left_alone() -> None:
    doc = {
        "id": "msg_014qQopuYB2gvKuR586xFtaY",
        "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
        "call_id": "call_WV6bvIiiSk0mp1W544x914V5",
        "request_id": "req_01SeAEjtQjrs1Gv91xwCS5Kh",
        "messageId": "chatcmpl-DELCJIGoZbcqfXw56FE2dHmuyT9QT",
    }
    assert Redactor().json(doc) == doc


def test_json_base64_image_blocks_are_left_alone() -> None:
    data = rand(ALNUM + "+/", 4000)
    blocks = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}},
        {"inline_data": {"mime_type": "image/jpeg", "data": data}},
    ]
    assert Redactor().json(blocks) == blocks
    assert Redactor().text(json.dumps(blocks)) == json.dumps(blocks)


def test_llm_api_ids_and_hashes_in_text_are_left_alone() -> None:
    text = (
        '"id":"msg_014qQopuYB2gvKuR586xFtaY" commit b58d3f102cf3a2c84cb7f923d05c25c9b1aed84b '
        "request_id=3f2b8c1e-9a4d-4e2b-8f3a-1c2d3e4f5a6b "
        "h1:jksf8JmL6Qr/oQM2OXTHunEvvTAsrWBLb6OOjuVWRNI="
    )
    assert Redactor().text(text) == text


# -- configuration ------------------------------------------------------------------------------


def test_disabled_changes_nothing() -> None:
    token = "ghp_" + rand(ALNUM, 36)
    redactor = Redactor(RedactionConfig(enabled=False))
    assert redactor.text(token) == token
    assert redactor.json({"password": "x" + token}) == {"password": "x" + token}


def test_custom_pattern_gets_its_rule_id() -> None:
    config = RedactionConfig(patterns=(NamedPattern(name="ticket", regex=r"ACME-\d{6}"),))
    assert Redactor(config).text("see ACME-123456") == "see [REDACTED:custom:ticket]"


def test_custom_pattern_secret_group_only() -> None:
    config = RedactionConfig(patterns=(NamedPattern(name="pin", regex=r"pin=(?P<secret>\d{4})"),))
    assert Redactor(config).text("pin=1234 ok") == "pin=[REDACTED:custom:pin] ok"


def test_bad_custom_regex_is_a_clear_error() -> None:
    with pytest.raises(ValidationError) as excinfo:
        RedactionConfig.model_validate({"patterns": [{"name": "broken", "regex": "a(b"}]})
    message = str(excinfo.value)
    assert "redaction.patterns[broken]: invalid regex 'a(b'" in message
    assert "missing )" in message


def test_allow_literal_and_regex() -> None:
    token = "ghp_" + rand(ALNUM, 36)
    fixture_key = "sk-proj-" + rand(ALNUM, 60)
    config = RedactionConfig(allow=(token, r"sk-proj-[A-Za-z0-9]{60}"))
    text = f"{token} {fixture_key} password = 'kept-out-of-allow-9'"
    assert Redactor(config).text(text) == (
        f"{token} {fixture_key} password = '[REDACTED:secret-assignment]'"
    )


def test_emails_off_by_default_and_on_when_asked() -> None:
    text = "mail jo.smith+evals@example.org now"
    assert Redactor().text(text) == text
    assert Redactor(RedactionConfig(emails=True)).text(text) == "mail [REDACTED:email] now"


def test_extra_hook_runs_after_builtins_with_context() -> None:
    seen: list[tuple[str, str]] = []

    def extra(text: str, context: str) -> str:
        seen.append((text, context))
        return text.replace("internal-host", "[REDACTED:hook]")

    token = "ghp_" + rand(ALNUM, 36)
    out = Redactor(extra=extra).json({"msg": f"{token} on internal-host"}, "transcript")
    assert out == {"msg": "[REDACTED:github-pat] on [REDACTED:hook]"}
    assert seen == [("[REDACTED:github-pat] on internal-host", "transcript.msg")]


def test_config_forbids_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        RedactionConfig.model_validate({"enable": False})


def test_a_word_closing_an_escaped_string_is_not_a_name_with_a_value() -> None:
    """Found by hypothesis: inside serialised JSON, 'aaaaPwAa\\""' read as the name 'aaaaPwAa'
    with the quoted value ', null], ', which broke the JSON and hid nothing."""
    line = json.dumps({"id": ['password = "aaaaaaaaaaaaPwAa"', None], "call_id": None})
    out = Redactor().text(line)
    assert json.loads(out)["call_id"] is None
    assert ", null]" in out


def test_a_marker_that_completes_a_neighbour_is_redacted_in_the_same_call() -> None:
    """Found by hypothesis: the AWS id's marker ended the Google key's token, so only a second
    call redacted it; one call must reach the fixpoint."""
    text = "AIza" + "aaaaabbbbbcdefaaaaabaaaaabababbbbb-" + "AKIA" + "AAAABAAABBBBCDEF"
    once = Redactor().text(text)
    assert Redactor().text(once) == once
    assert "AKIA" not in once and "AIza" not in once
