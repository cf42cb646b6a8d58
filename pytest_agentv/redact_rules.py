"""The built-in redaction rules: provider token formats, structural secrets, and the heuristics
that tell a real value from a placeholder.

Each :class:`Rule` names the lowercase literal ``anchors`` one of which must occur in a text for
the rule's regex to run at all; :mod:`pytest_agentv.redact` finds every anchor in one pass, so a
text without secrets costs one scan, not one per rule. The part of a match that is replaced is
the group named ``secret`` when the regex has one, else the whole match.

Long on purpose: it is one table (one entry per provider format), read as a list; splitting it
by provider would scatter the anchors that :mod:`pytest_agentv.redact` scans for in one pass.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

#: Returns True when a candidate secret is real rather than a placeholder.
Check = Callable[[str], bool]

MARKER_PREFIX = "[REDACTED:"


@dataclass(frozen=True)
class Rule:
    """One built-in rule. ``strong`` rules have a distinctive prefix, so they also run on
    identifier fields (``id``, ``*_id``), where nothing else does."""

    id: str
    pattern: re.Pattern[str]
    anchors: tuple[str, ...]
    check: Check | None = None
    strong: bool = True
    #: The match must not continue a word (checked in Python: a look-behind at the start of a
    #: pattern would cost the regex engine its fast literal-prefix search).
    boundary: bool = True
    #: Anchors are looked for in the lowercased text (for case-insensitive patterns).
    fold: bool = False
    #: Every match starts with one of the anchors, so a boundary rule's anchor need only be
    #: looked for where a word starts.
    leading: bool = True


# -- placeholder and template heuristics --------------------------------------------------------

# A run of one repeated character, or an x/X/*/# fill: docs write ``ghp_xxxx``, ``AKIAXXXX``,
# ``glc_1111...``, ``####`` where a real (random) token would not repeat itself.
_RUN = re.compile(r"(.)\1{5,}|[xX*#•]{4,}|\.{4,}")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
# Words that documentation and tests put where a real value would go.
_PLACEHOLDER_WORDS = re.compile(
    r"example|sample|placeholder|dummy|fake|changeme|change_me|your[_\-.\s]|yours?(?:key|token|"
    r"secret|password|api)|insert|_here|here_|redacted|replace[_\-]?me|secret_value",
    re.IGNORECASE,
)
# ``${VAR}``, ``$(cmd)``, ``$VAR`` (shell names are all-upper or all-lower), ``{{ x }}``,
# ``%VAR%``, ``%s``, ``[NAME]``, ``{name}``, ``<...>``, backtick commands.
_TEMPLATE = re.compile(
    r"""^(?:\$\{|\$\(|\$(?:[A-Z_][A-Z0-9_]*|[a-z_][a-z0-9_]*|\d)(?![A-Za-z0-9_])|\{\{|\{%|<%|%[sd]\b|
    %\(\w+\)s|%[A-Za-z_]\w*%|\[[A-Z_ ]+\]$|\{[A-Za-z_ .]+\}$|<.*>$|`|@\w+$|\*+$)""",
    re.VERBOSE,
)
# Code rather than a value: ``var.db_password``, ``os.environ["X"]``, ``get_secret()``.
_CODE_REF = re.compile(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+$|^[\w.]+\(|^[A-Za-z_][\w.]*\[")


def _sequential(value: str, length: int = 12) -> bool:
    """Mostly a run of the alphabet ('abcdefghijklmnopqrstuvwxyz1234'): a filler, when the run
    is a large part of the value (a real key does not spell the alphabet at all)."""
    low = value.lower()
    longest = 0
    for i in range(len(_ALPHABET) - length + 1):
        n = length
        if _ALPHABET[i : i + n] in low:
            while i + n < len(_ALPHABET) and _ALPHABET[i : i + n + 1] in low:
                n += 1
            longest = max(longest, n)
    return longest * 5 >= len(value) * 2 and longest >= length


def looks_placeholder(value: str) -> bool:
    """A fill pattern (``xxxx``, ``000000``, ``abc...xyz``, ``EXAMPLE``) rather than a secret."""
    if not value or MARKER_PREFIX in value:
        return True
    if _RUN.search(value) or _sequential(value) or "EXAMPLE" in value.upper():
        return True
    chars = [c for c in value if c.isalnum()]
    if len(chars) >= 8:
        top = max(chars.count(c) for c in set(chars))
        if top * 2 > len(chars) or len(set(chars)) < min(6, len(chars) // 3):
            return True
    return False


def looks_template(value: str) -> bool:
    """A reference to a value kept elsewhere (env var, template, format string)."""
    return bool(_TEMPLATE.search(value))


def plausible_value(value: str, min_len: int = 8, quoted: bool = False) -> bool:
    """Whether a value assigned to a secret-named field is worth redacting: long enough, not a
    template, not a placeholder, not a code reference."""
    value = value.strip()
    if len(value) < min_len or MARKER_PREFIX in value:
        return False
    if looks_template(value) or looks_placeholder(value) or _PLACEHOLDER_WORDS.search(value):
        return False
    if (not quoted and _CODE_REF.search(value)) or re.match(r"[a-z][a-z0-9+.-]*://", value):
        return False
    return not (value.isdigit() and len(value) < 12)


def real_token(value: str) -> bool:
    """Check for format rules: the random part is not a fill pattern or a template."""
    return not looks_placeholder(value) and not looks_template(value)


def _mixed(value: str) -> bool:
    """Random base62 of this length has digits and both cases; identifiers and words do not."""
    return (
        any(c.isdigit() for c in value)
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and real_token(value)
    )


def _has_digit(value: str) -> bool:
    return any(c.isdigit() for c in value) and real_token(value)


def _random_letters(value: str) -> bool:
    """Random mixed-case letters, not a camelCase identifier (which has few capitals)."""
    upper = sum(c.isupper() for c in value)
    return real_token(value) and upper >= 6 and len(value) - upper >= 6


def _secret_part(prefix_len: int, check: Check = real_token) -> Check:
    """Apply ``check`` to what follows a fixed-length prefix."""
    return lambda value: check(value[prefix_len:])


def _after(sep: str, check: Check = real_token) -> Check:
    """Apply ``check`` to what follows the last ``sep``."""
    return lambda value: check(value.rsplit(sep, 1)[-1])


# -- the table ----------------------------------------------------------------------------------

_E = r"(?![A-Za-z0-9_])"
_E_DASH = r"(?![A-Za-z0-9_-])"


def _rule(
    rule_id: str,
    regex: str,
    anchors: tuple[str, ...] | str,
    check: Check | None = real_token,
    *,
    strong: bool = True,
    boundary: bool = True,
    fold: bool = False,
    leading: bool = True,
) -> Rule:
    if isinstance(anchors, str):
        anchors = (anchors,)
    if fold:
        anchors = tuple(a.lower() for a in anchors)
    return Rule(rule_id, re.compile(regex), anchors, check, strong, boundary, fold, leading)


PEM_PRIVATE_KEY = _rule(
    "private-key",
    # The whole block, body included; a key cut off before its END line is redacted to the end.
    r"-----BEGIN[ A-Z0-9]{0,24}PRIVATE KEY(?: BLOCK)?-----"
    r"(?P<body>(?:(?!-----)[\s\S]){16,40000}?)"
    r"(?:-----END[ A-Z0-9]{0,24}PRIVATE KEY(?: BLOCK)?-----|(?=-----)|$)",
    "PRIVATE KEY",
    None,
    boundary=False,
)

URL_CREDENTIALS = _rule(
    "url-credentials",
    # scheme://user:password@host keeps user and host. The password may not hold quotes, spaces
    # or '/', so 'https://host:8000/ @x' and "'https://host:8000';@x" are not read as one.
    # Starts at '://' (not at the scheme) so the regex engine can search for that literal.
    r"://(?P<user>[^\s:/@\"'`<>\\]{0,128}):(?P<secret>[^\s/@\"'`<>\\]{1,256})@(?=[\w\[])",
    "://",
    lambda value: not looks_template(value),
    boundary=False,
)

RULES: tuple[Rule, ...] = (
    PEM_PRIVATE_KEY,
    # Anthropic before OpenAI: both start with 'sk-'.
    _rule("anthropic-admin-key", r"sk-ant-admin\d{2}-[A-Za-z0-9_-]{32,}", "sk-ant-"),
    _rule("anthropic-api-key", r"sk-ant-(?:api|sid|oat|ort)\d{2}-[A-Za-z0-9_-]{32,}", "sk-ant-"),
    _rule(
        "openai-api-key",
        r"sk-(?:(?:proj|svcacct|admin|None)-)?(?!ant-)[A-Za-z0-9_-]{32,}" + _E_DASH,
        "sk-",
        _secret_part(3, _mixed),
    ),
    _rule("github-pat", r"ghp_[A-Za-z0-9]{36,255}" + _E, "ghp_"),
    _rule("github-oauth", r"gho_[A-Za-z0-9]{36,255}" + _E, "gho_"),
    _rule("github-app-token", r"gh[us]_[A-Za-z0-9]{36,255}" + _E, ("ghu_", "ghs_")),
    _rule("github-refresh-token", r"ghr_[A-Za-z0-9]{36,255}" + _E, "ghr_"),
    _rule("github-fine-grained-pat", r"github_pat_[A-Za-z0-9_]{60,255}" + _E, "github_pat_"),
    _rule("gitlab-pat", r"glpat-[A-Za-z0-9_.-]{20,}" + _E_DASH, "glpat-", _secret_part(6)),
    _rule(
        "gitlab-token",
        r"(?:gldt|glft|glimt|glptt|glrt|glrtr|glagent|gloas|glsoat|glcbt|glffct|glwt)"
        r"-[A-Za-z0-9_.-]{20,}" + _E_DASH + "|" + r"GR1348941[A-Za-z0-9_-]{20,}" + _E_DASH,
        (
            "gldt-",
            "glft-",
            "glimt-",
            "glptt-",
            "glrt",
            "glagent-",
            "gloas-",
            "glsoat-",
            "glcbt-",
            "glffct-",
            "glwt-",
            "GR1348941",
        ),
        lambda v: real_token(v[9:] if v.startswith("GR1348941") else v.partition("-")[2]),
    ),
    _rule(
        "slack-webhook",
        r"(?i)(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{20,}",
        "hooks.slack.com",
        None,
        boundary=False,
        fold=True,
    ),
    # xoxb-<team>-<bot>-<secret>, xoxp-..., legacy xoxb-<id>-<secret>: numeric ids, then a
    # random tail; 'xoxb-abcdef-abcdef' and 'xoxb-xxxx' have no numeric id.
    _rule(
        "slack-token",
        r"xox[abposr]-(?:\d+-)+[A-Za-z0-9]{8,}"
        + _E_DASH
        + "|"
        + r"xoxe\.xox[bp]-\d-[A-Za-z0-9]{40,}"
        + _E_DASH
        + "|"
        + r"xoxe-\d-[A-Za-z0-9]{40,}"
        + _E_DASH
        + "|"
        + r"xoxe-(?:\d+-){2,}[A-Za-z0-9]{16,}"
        + _E_DASH,
        ("xox",),
        _after("-", _has_digit),
    ),
    _rule("slack-app-token", r"xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]{32,}" + _E, "xapp-"),
    _rule(
        "aws-access-key-id",
        r"(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA|A3T[A-Z0-9])"
        r"[A-Z2-7]{16}" + _E,
        (
            "AKIA",
            "ASIA",
            "ABIA",
            "ACCA",
            "AGPA",
            "AIDA",
            "AIPA",
            "ANPA",
            "ANVA",
            "APKA",
            "AROA",
            "ASCA",
            "A3T",
        ),
        _secret_part(4),
    ),
    _rule(
        "aws-secret-access-key",
        r"(?i)aws[\w.\-]{0,30}?(?:secret|sk)[\w.\-]{0,30}[\"'`]?\s{0,4}(?:=>|:=|=|:)\s{0,4}"
        r"[\"'`]?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        "aws",
        real_token,
        fold=True,
    ),
    _rule(
        "aws-bedrock-api-key",
        r"ABSKQmVkcm9ja0FQSUtleS[A-Za-z0-9+/]{100,}={0,2}"
        + "|"
        + r"bedrock-api-key-[A-Za-z0-9+/]{20,}={0,2}",
        ("ABSK", "bedrock-api-key-"),
    ),
    _rule("gcp-api-key", r"AIza[0-9A-Za-z_-]{35}" + _E_DASH, "AIza", _secret_part(4)),
    _rule(
        "stripe-secret-key",
        r"(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{16,}" + _E,
        ("sk_", "rk_"),
        _after("_"),
    ),
    _rule("stripe-webhook-secret", r"whsec_[A-Za-z0-9+/]{32,}" + _E, "whsec_"),
    _rule(
        "sendgrid-api-key",
        r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}"
        + _E_DASH
        + "|"
        + r"SG\.[A-Za-z0-9_=-]{60,80}"
        + _E_DASH,
        "SG.",
    ),
    _rule("twilio-api-key", r"SK[0-9a-fA-F]{32}" + _E, "SK", _secret_part(2, _has_digit)),
    _rule("npm-token", r"npm_[A-Za-z0-9]{36}" + _E, "npm_"),
    _rule("pypi-token", r"pypi-AgE[A-Za-z0-9_-]{50,}", "pypi-"),
    _rule(
        "huggingface-token",
        r"hf_[A-Za-z]{34}" + _E + "|" + r"api_org_[A-Za-z]{34}" + _E,
        ("hf_", "api_org_"),
        _after("_", _random_letters),
    ),
    _rule(
        "azure-ad-client-secret",
        r"(?<![\w.~-])[\w.~-]{3}\dQ~[\w.~-]{31,34}(?![\w.~-])",
        "Q~",
        _after("~"),
        leading=False,
    ),
    _rule("databricks-token", r"dapi[0-9a-f]{32}(?:-\d)?" + _E_DASH, "dapi"),
    _rule("digitalocean-token", r"do[opr]_v1_[0-9a-f]{64}" + _E, ("doo_v1_", "dop_v1_", "dor_v1_")),
    _rule("shopify-token", r"shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}" + _E, "shp"),
    _rule("mailchimp-api-key", r"[0-9a-f]{32}-us\d{1,2}" + _E, "-us", leading=False),
    _rule("mailgun-api-key", r"(?:key|pubkey)-[0-9a-f]{32}" + _E, "key-", leading=False),
    _rule(
        "brevo-api-key",
        r"x(?:keysib|smtpsib)-[0-9a-f]{64}-[A-Za-z0-9]{16}" + _E,
        ("xkeysib-", "xsmtpsib-"),
    ),
    _rule("linear-api-key", r"lin_api_[A-Za-z0-9]{40}" + _E, "lin_api_"),
    _rule("notion-token", r"ntn_\d{11}[A-Za-z0-9]{35}" + _E, "ntn_", _secret_part(15, _mixed)),
    _rule("vault-token", r"hv[sb]\.[A-Za-z0-9_-]{90,}", ("hvs.", "hvb.")),
    # Legacy 's.<24>' tokens: only with digits and both cases, since 's.' starts many words.
    _rule("vault-token", r"s\.[A-Za-z0-9]{24}(?![\w.])", "s.", _secret_part(2, _mixed)),
    _rule("telegram-bot-token", r"\d{8,10}:AA[A-Za-z0-9_-]{33}" + _E_DASH, ":AA", leading=False),
    _rule(
        "discord-bot-token",
        r"[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}" + _E_DASH,
        ("M", "N", "O"),
        _mixed,
    ),
    _rule(
        "facebook-access-token",
        r"EAA[A-Za-z0-9]{90,}" + _E + "|" + r"\d{15,16}\|[A-Za-z0-9_-]{27}" + _E_DASH,
        ("EAA", "|"),
        _after("|", _mixed),
        leading=False,
    ),
    _rule(
        "sentry-token",
        r"sntrys_eyJ[A-Za-z0-9+/=_-]{60,}" + "|" + r"sntryu_[0-9a-f]{64}" + _E,
        ("sntrys_", "sntryu_"),
    ),
    _rule(
        "grafana-token",
        r"glc_[A-Za-z0-9+/]{32,400}={0,2}"
        + "|"
        + r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"
        + _E
        + "|"
        + r"eyJrIjoi[A-Za-z0-9]{60,400}={0,2}",
        ("glc_", "glsa_", "eyJrIjoi"),
        _after("_"),
    ),
    _rule(
        "1password-token",
        r"ops_eyJ[A-Za-z0-9+/]{200,}={0,3}"
        + "|"
        + r"A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})(?:-[A-Z0-9]{5}){3}"
        + _E,
        ("ops_", "A3-"),
        _after("-"),
    ),
    _rule(
        "age-secret-key",
        r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
        "AGE-SECRET-KEY-",
    ),
    _rule("doppler-token", r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}" + _E, "dp."),
    _rule("dynatrace-token", r"dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}" + _E, "dt0c01."),
    _rule("easypost-token", r"EZ[AT]K[A-Za-z0-9]{54}" + _E, ("EZAK", "EZTK")),
    _rule("flutterwave-key", r"FLW(?:SECK|PUBK)_TEST-[a-fA-F0-9]{12,32}(?:-X)?" + _E_DASH, "FLW"),
    _rule(
        "flyio-token",
        r"fo1_[A-Za-z0-9_-]{43}" + _E_DASH + "|" + r"fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3}",
        ("fo1_", "fm1", "fm2"),
        _after("_"),
    ),
    _rule("heroku-api-key", r"HRKU-AA[A-Za-z0-9_-]{58}" + _E_DASH, "HRKU-"),
    _rule(
        "new-relic-key",
        r"NR(?:AK|II|JS|RA)-[A-Za-z0-9-]{19,40}" + _E_DASH,
        ("NRAK-", "NRII-", "NRJS-", "NRRA-"),
    ),
    _rule("postman-api-key", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}" + _E, "PMAK-"),
    _rule("prefect-api-key", r"pnu_[A-Za-z0-9]{36}" + _E, "pnu_"),
    _rule("pulumi-token", r"pul-[a-f0-9]{40}" + _E, "pul-"),
    _rule("readme-api-key", r"rdme_[a-z0-9]{70}" + _E, "rdme_"),
    _rule("rubygems-api-key", r"rubygems_[a-f0-9]{48}" + _E, "rubygems_"),
    _rule("clojars-token", r"CLOJARS_[a-z0-9]{60}" + _E, "CLOJARS_"),
    _rule("scalingo-token", r"tk-us-[A-Za-z0-9_-]{48}" + _E_DASH, "tk-us-"),
    _rule(
        "sourcegraph-token",
        r"sgp_(?:[a-fA-F0-9]{16}|local)_[a-fA-F0-9]{40}" + _E + "|" + r"sgp_[a-fA-F0-9]{40}" + _E,
        "sgp_",
        _after("_"),
    ),
    _rule("square-token", r"sq0(?:atp|csp)-[A-Za-z0-9_\\-]{22,60}" + _E_DASH, "sq0"),
    _rule("typeform-token", r"tfp_[A-Za-z0-9_=.-]{59}" + _E_DASH, "tfp_"),
    _rule(
        "planetscale-token", r"pscale_(?:tkn|oauth|pw)_[A-Za-z0-9_=.-]{32,64}" + _E_DASH, "pscale_"
    ),
    _rule("perplexity-api-key", r"pplx-[A-Za-z0-9]{48}" + _E, "pplx-"),
    _rule("infracost-token", r"ico-[A-Za-z0-9]{32}" + _E_DASH, "ico-", _secret_part(4, _mixed)),
    _rule("atlassian-token", r"ATATT3[A-Za-z0-9_=-]{150,}", "ATATT3"),
    _rule(
        "artifactory-token",
        r"AKCp[A-Za-z0-9]{69}"
        + _E
        + "|"
        + r"cmVmdGtu[A-Za-z0-9]{56}"
        + _E
        + "|"
        + r"cmVmd[A-Za-z0-9]{59}"
        + _E,
        ("AKCp", "cmVmd"),
        _secret_part(5),
    ),
    _rule("alibaba-access-key-id", r"LTAI[A-Za-z0-9]{20}" + _E, "LTAI"),
    _rule("adobe-client-secret", r"p8e-[A-Za-z0-9]{32}" + _E, "p8e-"),
    _rule("airtable-token", r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}" + _E, "pat"),
    _rule("cloudflare-origin-ca-key", r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}" + _E, "v1.0-"),
    _rule("defined-networking-token", r"dnkey-[A-Za-z0-9=_-]{26}-[A-Za-z0-9=_-]{52}", "dnkey-"),
    _rule("duffel-token", r"duffel_(?:test|live)_[A-Za-z0-9_=-]{43}" + _E_DASH, "duffel_"),
    _rule("frameio-token", r"fio-u-[A-Za-z0-9_=-]{64}" + _E_DASH, "fio-u-"),
    _rule(
        "harness-token",
        r"(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[a-z0-9]{24}\.[a-z0-9]{20}" + _E,
        ("pat.", "sat."),
    ),
    _rule(
        "terraform-cloud-token",
        r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}" + _E_DASH,
        ".atlasv1.",
        _after("."),
        leading=False,
    ),
    _rule("intra42-secret", r"s-s4t2(?:ud|af)-[a-f0-9]{64}" + _E, "s-s4t2"),
    _rule(
        "mapbox-token",
        r"(?:pk|sk)\.eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}"
        + "|"
        + r"pk\.[a-z0-9]{60}\.[a-z0-9]{22}"
        + _E,
        ("pk.", "sk."),
    ),
    _rule(
        "teams-webhook",
        r"https://[A-Za-z0-9.-]*\.webhook\.office\.com/webhookb2/[A-Za-z0-9@/_-]{40,}"
        + r"|https://[A-Za-z0-9.-]*\.logic\.azure\.com[^\s\"'<>]*sig=[A-Za-z0-9%_-]{20,}",
        ("webhook.office.com", "logic.azure.com"),
        None,
        boundary=False,
    ),
    _rule("twitter-bearer-token", r"A{22}[A-Za-z0-9%]{60,}", "A" * 22, _secret_part(22)),
    _rule(
        "yandex-token",
        r"t1\.[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]{86}={0,2}"
        + "|"
        + r"AQVN[A-Za-z0-9_-]{35,38}"
        + _E_DASH
        + "|"
        + r"YC[A-Za-z0-9_-]{38}"
        + _E_DASH,
        ("t1.", "AQVN", "YC"),
        _mixed,
    ),
    _rule("openshift-token", r"sha256~[A-Za-z0-9_-]{43}" + _E_DASH, "sha256~", _secret_part(7)),
    _rule("settlemint-token", r"sm_(?:aat|pat|sat)_[A-Za-z0-9]{16}" + _E, "sm_"),
    _rule("shippo-token", r"shippo_(?:live|test)_[a-fA-F0-9]{40}" + _E, "shippo_"),
    _rule("sonar-token", r"sq[upa]_[A-Za-z0-9]{40}" + _E, ("squ_", "sqp_", "sqa_")),
    _rule(
        "authress-key",
        r"(?:sc|ext|scauth|authress)_[a-z0-9]{5,30}\.[a-z0-9]{4,6}\.acc[_-][a-z0-9-]{10,32}"
        r"\.[A-Za-z0-9+/_=-]{30,120}",
        ".acc",
        leading=False,
    ),
)

JWT = _rule(
    "jwt",
    # header.payload[.signature]: both JSON parts start '{"' = 'eyJ'; a lone 'eyJ...' is not one.
    r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}(?:\.[A-Za-z0-9_-]+){0,3}",
    "eyJ",
    None,
)

_AUTH_SCHEMES = r"bearer|basic|token|digest|bot|apikey|api-key|key|sso-key|negotiate|ntlm|hmac"
AUTH_HEADER = _rule(
    "authorization-header",
    # A quoted name ('"Authorization": ...', JSON or a dict) takes a quoted value, so a JSON
    # number there is not read as a credential.
    r"(?i)\b(?:proxy-)?authorization"
    r"(?:(?P<q>\\?[\"'`])\s{0,4}[:=]\s{0,4}(?P=q)|\s{0,4}[:=]\s{0,4}[\"'`]?)"
    r"(?:(?:" + _AUTH_SCHEMES + r")\s+|(?!(?:" + _AUTH_SCHEMES + r")\b))"
    r"(?P<secret>[A-Za-z0-9][A-Za-z0-9+/=._~@:!-]{7,})",
    "authorization",
    # A credential has letters; '"Authorization": 100000.0' in JSON is a number, not one.
    lambda value: (
        real_token(value)
        and not _PLACEHOLDER_WORDS.search(value)
        and any(c.isalpha() for c in value)
    ),
    strong=False,
    fold=True,
)

_PLACEHOLDER_CREDENTIALS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "token",
        "secret",
        "test",
        "user",
        "username",
        "apikey",
        "api_key",
        "changeme",
        "admin",
    }
)


def _curl_credential(value: str) -> bool:
    """``user:password`` given to ``curl -u``: the password must be neither a template nor a
    placeholder word; with no password (``-u KEY:``) the user part is the secret."""
    value = value.strip()
    if value.startswith("<") or not value.strip("\"'"):
        return False
    if '":"' in value:
        user, _, password = value.partition('":"')
    else:
        user, _, password = value.strip("\"'").partition(":")
    password = password.strip("\"'")
    secret = password if password else user.strip("\"'")
    if not password and ":" not in value:
        return False
    return (
        len(secret) >= 6
        and secret.lower() not in _PLACEHOLDER_CREDENTIALS
        and not looks_template(secret)
        and not looks_placeholder(secret)
    )


CURL_USER = _rule(
    "curl-credentials",
    r"\bcurl\b(?:[^\n|;&]|\\\n){0,1000}?\s(?:-u|--user)(?:\s+|=)"
    r"(?P<secret>\"[^\"\n]*\"(?::\"[^\"\n]*\")?|'[^'\n]*'|[^\s\"'`]+)",
    "curl",
    _curl_credential,
    strong=False,
    boundary=False,
)

BUNDLER_CREDENTIALS = _rule(
    "bundler-credentials",
    # Bundler reads gem-server credentials from BUNDLE_<HOST> as user:password.
    r"\bBUNDLE_[A-Z0-9_]+__[A-Z]+[\"']?\s{0,4}[=:]\s{0,4}[\"']?(?P<secret>[^\s\"':]+:[^\s\"']+)",
    "BUNDLE_",
    lambda value: real_token(value.partition(":")[2]),
    strong=False,
    boundary=False,
)

STRUCTURAL_RULES: tuple[Rule, ...] = (
    JWT,
    URL_CREDENTIALS,
    AUTH_HEADER,
    CURL_USER,
    BUNDLER_CREDENTIALS,
)

# pytest abbreviates a long string in an assertion to its two ends ('sk-proj-QAtK...KJC06DPdRO9Yr'),
# which no full-token rule matches but which still holds part of the secret: a known token prefix,
# the visible head, the ellipsis and the visible tail are redacted together.
TRUNCATED_PREFIXES = (
    "sk-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "glrt-",
    "gldt-",
    "glptt-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xoxe-",
    "xapp-",
    "AKIA",
    "ASIA",
    "AIza",
    "hf_",
    "npm_",
    "pypi-AgE",
    "whsec_",
    "SG.",
    "dop_v1_",
    "lin_api_",
    "pplx-",
    "glc_",
    "glsa_",
    "hvs.",
    "ops_eyJ",
    "AGE-SECRET-KEY-",
    "eyJ",
    "ABSK",
    "HRKU-",
    "sntrys_",
    "sntryu_",
    "dapi",
)
_VISIBLE = "[A-Za-z0-9_-]"


def _truncated_visible(fragment: str) -> bool:
    head, _, tail = fragment.replace("\u2026", "...").partition("...")
    for prefix in sorted(TRUNCATED_PREFIXES, key=len, reverse=True):
        if head.startswith(prefix):
            head = head[len(prefix) :]
            break
    visible = head + tail
    return len(visible) >= 8 and len(tail) >= 4 and real_token(visible)


TRUNCATED_TOKEN = _rule(
    "truncated-token",
    r"(?<![A-Za-z0-9_])(?P<secret>(?:"
    + "|".join(re.escape(p) for p in sorted(TRUNCATED_PREFIXES, key=len, reverse=True))
    + rf")(?P<head>{_VISIBLE}{{0,120}})(?:\.\.\.|\u2026)(?P<tail>{_VISIBLE}{{4,}}))",
    ("...", "\u2026"),
    # The ends shown must be enough of a random token to matter (8 characters between them) and
    # not a fill: 'sk-...abcd', a provider's own masked display, and 'ghp_xxxx...xxxx' are kept.
    _truncated_visible,
    boundary=False,
)


EMAIL = _rule(
    "email",
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
    r"\.[A-Za-z]{2,24}(?![\w-])",
    "@",
    None,
    strong=False,
    boundary=False,
)


# -- secret-named fields ------------------------------------------------------------------------

_STRONG_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "pwd",
    "secret",
    "secrete",
    "token",
    "apikey",
    "credential",
    "credentials",
    "creds",
)
# Exact components that only count on their own ('pass' in 'db_pass', not in 'bypass').
_STRONG_EXACT = frozenset({"pass", "pw", "auth", "pat"})
# '<qualifier> key' names a secret; 'key' alone (sequenceKey, bucket_key) does not.
_KEY_QUALIFIERS = frozenset(
    {
        "api",
        "access",
        "secret",
        "iam",
        "private",
        "auth",
        "master",
        "signing",
        "encryption",
        "account",
        "license",
        "shared",
        "client",
        "app",
        "admin",
        "service",
        "session",
        "sas",
        "storage",
        "subscription",
        "webhook",
        "hmac",
        "consumer",
        "write",
        "deploy",
        "ingest",
        "sk",
    }
)
_KEY_COMPOUNDS = tuple(q + "key" for q in _KEY_QUALIFIERS)
_COMPOUND_PREFIXES = (
    *_KEY_QUALIFIERS,
    "refresh",
    "bot",
    "db",
    "user",
    "root",
    "bearer",
    "oauth",
    "login",
    "my",
    "id",
    "csrf",
    "xsrf",
    "jwt",
    "gh",
    "pa",
    "sa",
    "smtp",
    "ftp",
    "ssh",
    "gpg",
    "store",
    "trust",
)
# What a name ends with when it holds something *about* a secret, not the secret itself.
_NOT_SECRET_SUFFIX = frozenset(
    {
        "id",
        "ids",
        "uuid",
        "guid",
        "name",
        "names",
        "url",
        "uri",
        "urls",
        "endpoint",
        "host",
        "file",
        "filename",
        "files",
        "path",
        "dir",
        "location",
        "length",
        "len",
        "size",
        "count",
        "counts",
        "max",
        "min",
        "limit",
        "type",
        "types",
        "kind",
        "mode",
        "format",
        "version",
        "expiry",
        "expires",
        "expiration",
        "ttl",
        "timeout",
        "at",
        "date",
        "policy",
        "header",
        "headers",
        "field",
        "fields",
        "keyword",
        "keywords",
        "env",
        "var",
        "variable",
        "variables",
        "prefix",
        "suffix",
        "ref",
        "hint",
        "label",
        "prompt",
        "method",
        "store",
        "manager",
        "provider",
        "source",
        "usage",
        "enabled",
        "required",
        "regex",
        "pattern",
        "param",
        "description",
        "arn",
        "index",
        "idx",
        "number",
        "num",
        "chars",
        "charset",
        "alphabet",
        "bytes",
        "bits",
        "algorithm",
        "algo",
        "class",
        "service",
        "handler",
        "request",
        "response",
        "callback",
        "status",
        "state",
        "error",
        "errors",
        "exists",
        "check",
        "valid",
        "validator",
        "generator",
        "factory",
        "reset",
        "forgot",
        "changed",
        "strength",
        "rule",
        "rules",
    }
)
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def name_parts(name: str) -> list[str]:
    """``npmAccessTokenToken`` -> npm access token token; ``AUTH_CLIENTSECRET`` -> auth
    clientsecret."""
    return [w.lower() for w in _WORD.findall(name)]


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether a field or variable name says its value is a secret."""
    parts = [p for p in name_parts(name) if not p.isdigit()]
    if not parts or parts[-1] in _NOT_SECRET_SUFFIX or "public" in parts or "pub" in parts:
        return False
    if parts[-1].endswith(("id", "ids")) and not parts[-1].endswith(_STRONG_WORDS):
        return False  # 'credentialsid', 'accessid' read as one word
    for i, part in enumerate(parts):
        if part in _STRONG_EXACT or part in _STRONG_WORDS or part.endswith(_KEY_COMPOUNDS):
            return True
        for word in _STRONG_WORDS:
            # One word run together: 'clientsecret', 'authtoken', 'sengridapitoken'; but not
            # 'jsonwebtoken' or 'someotherpassword'.
            if part.endswith(word) and part[: -len(word)].endswith(_COMPOUND_PREFIXES):
                return True
        if part == "key" and i > 0 and parts[i - 1] in _KEY_QUALIFIERS:
            return True
    return False


@functools.lru_cache(maxsize=4096)
def is_identifier_name(name: str) -> bool:
    """Keys whose values are ids (``id``, ``call_id``, ``requestId``, ``tool_use_id``)."""
    parts = name_parts(name)
    return bool(parts) and parts[-1] in {"id", "ids", "uuid", "guid", "sha", "etag"}
