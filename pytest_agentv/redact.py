"""Redaction: every byte the plugin writes passes through :class:`Redactor` first.

Three layers, applied in order (see docs/redaction.md):

1. user ``patterns`` from ``.agentv/config.yaml`` (``custom:<name>``);
2. built-in rules: structural secrets (private keys, JWTs, credentials in URLs, Authorization
   headers, ``curl -u``) and provider token formats (:mod:`pytest_agentv.redact_rules`);
3. secret-named assignments (``password = ...``, ``"api_key": "..."``, ``<fooToken>...``), and in
   :meth:`Redactor.json` the key a string sits under.

Each secret becomes ``[REDACTED:<rule-id>]``. No rule matches a marker, so redacting twice
changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from pytest_agentv import redact_rules as rules
from pytest_agentv.config_file import NamedPattern, RedactionConfig
from pytest_agentv.redact_rules import MARKER_PREFIX, Rule

__all__ = ["ExtraRedaction", "NamedPattern", "RedactionConfig", "Redactor"]

JsonValue = Any
#: An extra redaction step (the ``pytest_agentv_redact`` hook): ``(text, context) -> text``.
ExtraRedaction = Callable[[str, str], str]


def marker(rule_id: str) -> str:
    """The replacement text for a secret found by ``rule_id``."""
    return f"{MARKER_PREFIX}{rule_id}]"


# -- secret-named assignments in free text ------------------------------------------------------

ASSIGNMENT_ID = "secret-assignment"
FIELD_ID = "secret-field"

# What may sit between a name and its value: a closing quote, '[25]', a type, the operator.
_OPERATOR = re.compile(
    r"""(?P<close>\\?["'`])?(?:\[[^\]\n]{0,10}\])?[ \t]*
    (?:(?::[ \t]*)?(?:str|string|String|SecretStr|Optional\[str\]|const|char[ \t]*\*?)[ \t]+)?
    (?P<op>:::=|::=|:=|\?=|\.=|\+=|=>|===|!==|==|!=|=|:|,|>|->|<-)?[ \t]*@?""",
    re.VERBOSE,
)
_UNQUOTED = re.compile(r"[^\s\"'`,;&<\\][^\s\"'`;&<\\]*")
# '"value" == name': found from the operator, then the quoted value is read backwards.
_REVERSED = re.compile(r"(?:===?|!==?)[ \t]*(?P<name>[A-Za-z_][\w.]*)")
_XML = re.compile(r"<(?P<name>[A-Za-z_][\w.-]*)>\s*(?P<secret>[^<>\s]{1,1000})\s*</(?P=name)>")
_KEY_VALUE_ATTRS = re.compile(
    r"""\bkey=["'](?P<name>[^"'\n]{1,100})["']\s+value=["'](?P<secret>[^"'\n]*)["']"""
)


def _quoted_end(text: str, start: int, quote: str) -> int:
    """Index of the quote closing a string whose body starts at ``start``, or -1."""
    escaped = quote.startswith("\\")
    i = start
    limit = min(len(text), start + 4000)
    while i < limit:
        c = text[i]
        if c == "\n":
            return -1
        if escaped:
            if text.startswith(quote, i):
                return i
            if c == "\\":
                i += 2
                continue
        else:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                return i
        i += 1
    return -1


def _strip_unbalanced(value: str) -> str:
    value = value.rstrip(".,;:")
    for opener, closer in ("()", "[]", "{}"):
        while value.endswith(closer) and value.count(closer) > value.count(opener):
            value = value[:-1]
    return value


# A secret stem, the rest of its word, then what may follow a name in an assignment (operator,
# quote, '[', or a type). Run on the lowercased text; the start of the name is found backwards.
_CANDIDATE = re.compile(
    r"(?:pass|pw|secret|token|key|auth|cred)[a-z0-9_.-]*+"
    r"(?=[ \t]{0,8}(?:(?:string|str|const|char)[ \t]+)?[=:!?.,>+<\"'`\\\[@])"
)
# '--password value': a command-line flag, separated from its value by a space.
_FLAG = re.compile(
    r"(?<![^\s])--?[a-z0-9_.-]*(?:pass|pw|secret|token|key|auth|cred)[a-z0-9_.-]*(?=[ \t])"
)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _candidate_names(text: str) -> Iterator[tuple[int, int]]:
    """Spans of names holding a secret stem and followed by something that can start a value."""
    lowered = text.lower()
    found = [m.span() for m in _CANDIDATE.finditer(lowered)]
    if " -" in text or text.startswith("-"):
        found.extend(m.span() for m in _FLAG.finditer(lowered))
        found.sort()
    last_end = -1
    for hit, end in found:
        if hit < last_end:
            continue
        last_end = end
        if lowered.endswith("tokens", hit, end):
            continue  # max_tokens, input_tokens: counts, and by far the most common hit
        start = hit
        while start > 0 and text[start - 1] in _NAME_CHARS and hit - start < 100:
            start -= 1
        yield start, end


def _assignment_spans(text: str) -> Iterator[tuple[int, int]]:
    """Spans of values assigned to secret-named names in free text."""
    for name_start, name_end in _candidate_names(text):
        name = text[name_start:name_end].strip(".-")
        if not rules.is_secret_name(name):
            continue
        op = _OPERATOR.match(text, name_end)
        if op is None:
            continue
        operator = op.group("op")
        if operator == ",":
            # ("API_TOKEN", "value"): a name and a value as call arguments, nothing looser.
            if not text[max(0, name_start - 8) : name_start].rstrip("\"'` ").endswith("("):
                continue
        elif operator in (">", "->", "<-"):
            continue  # XML elements go through _XML, which needs the closing tag too
        pos = op.end()
        if pos >= len(text):
            continue
        quote = ""
        if text[pos] in "\"'`":
            quote = text[pos]
        elif text.startswith(('\\"', "\\'"), pos):
            quote = text[pos : pos + 2]
        if operator is None:
            # 'password "x"' or a command-line flag '--token abc': no operator, so a space then
            # a quoted value, or a flag. Without the space, as in '...Pw\"", null' (a name-like
            # word closing a string inside serialised JSON), the next quote starts no value.
            if pos == name_end or text[pos - 1] not in " \t":
                continue
            if not (quote or text.startswith("-", name_start)):
                continue
        elif operator == ":" and not quote and pos == op.end("op"):
            continue  # 'a:b' with no space is a URL, host:port or coordinate, not YAML/JSON
        if quote:
            start = pos + len(quote)
            end = _quoted_end(text, start, quote)
            if end < 0:
                continue
            value = text[start:end]
            if quote == "`" and any(c.isspace() for c in value):
                continue  # a shell command substitution, not a Go/JS raw string
            if rules.plausible_value(value, quoted=True) or (
                _is_password_name(name) and " " not in value and rules.plausible_value(value, 4)
            ):
                yield start, end
        else:
            if op.group("close") == '"' and operator == ":":
                continue  # '"name": 123' is JSON: a number, true or null, never a secret string
            unquoted = _UNQUOTED.match(text, pos)
            if unquoted is None:
                continue
            value = _strip_unbalanced(unquoted.group(0))
            if rules.plausible_value(value) and not _bare_identifier(value):
                yield pos, pos + len(value)
    if "==" in text or "!=" in text:
        for match in _REVERSED.finditer(text):
            close = match.start()
            while close > 0 and text[close - 1] in " \t":
                close -= 1
            quote = text[close - 1 : close]
            if quote not in ("'", '"') or not rules.is_secret_name(match.group("name")):
                continue
            close -= 1
            opening = text.rfind(quote, max(0, close - 500), close)
            value = text[opening + 1 : close]
            if opening >= 0 and "\n" not in value and rules.plausible_value(value, 6, quoted=True):
                yield opening + 1, close
    for pattern, gate in ((_XML, "</"), (_KEY_VALUE_ATTRS, "value=")):
        if gate not in text:
            continue  # each needs its literal; skipping saves a scan of every '<'
        for match in pattern.finditer(text):
            if rules.is_secret_name(match.group("name")) and rules.plausible_value(
                match.group("secret"), 6, quoted=True
            ):
                yield match.start("secret"), match.end("secret")


def _is_password_name(name: str) -> bool:
    parts = rules.name_parts(name)
    return bool(parts) and parts[-1] in {"password", "passwd", "pwd", "pass", "passphrase"}


def _bare_identifier(value: str) -> bool:
    """An unquoted snake_case or dotted name is a variable in code, not a value."""
    return bool(re.fullmatch(r"[a-z_]+(?:[._][a-z_]+)+|[A-Z_]+(?:[._][A-Z_]+)+", value))


def _replace_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    if not spans:
        return text
    spans.sort()
    out: list[str] = []
    last = 0
    for start, end, rule_id in spans:
        if start < last:
            continue  # overlaps one already replaced
        out.append(text[last:start])
        out.append(marker(rule_id))
        last = end
    out.append(text[last:])
    return "".join(out)


# -- the redactor -------------------------------------------------------------------------------

# Base64 media is not text: leave it alone (it is large, and random bytes can look like a key).
# In text, with no JSON keys to go by, a long unbroken base64 run is taken for such a payload too
# (an image block of a serialised transcript line); secrets are far shorter, and a PEM body breaks
# into lines.
_BLOB_MIN = 1024
_DATA_URL = re.compile(r"data:(?:image|audio|video)/[\w.+-]+;base64,[A-Za-z0-9+/=\\n]+")
# Starting at the opening quote of a JSON string lets the engine skip ahead to quotes.
_BLOB = re.compile(rf'"([A-Za-z0-9+/]{{{_BLOB_MIN},}}={{0,2}})"')
_SCHEME_VALUE = re.compile(r"(?i)^(bearer|basic|token|bot|apikey|digest)\s+(\S+)$")
_MEDIA_KEYS = frozenset({"data", "bytes", "b64_json", "image_url", "url"})


# Every token rule's match is a run of these characters at least this long.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_.~+/=|:%\\-]{16,}")
# No built-in rule matches fewer characters than this ('a://b:cd@e' is the shortest).
_MIN_SECRET = 8


class Redactor:
    """Replaces secrets in text and in JSON-like data with ``[REDACTED:<rule-id>]``."""

    def __init__(self, config: RedactionConfig | None = None, extra: ExtraRedaction | None = None):
        self.config = config or RedactionConfig()
        self._extra = extra
        custom = tuple(
            Rule(f"custom:{p.name}", re.compile(p.regex), (), None, strong=True)
            for p in self.config.patterns
        )
        builtin = (rules.PEM_PRIVATE_KEY, *rules.STRUCTURAL_RULES, *rules.RULES[1:])
        if self.config.emails:
            builtin = (*builtin, rules.EMAIL)
        self._custom = custom
        self._rules = builtin
        # (anchor, rule index). Token rules only match inside a long run of token characters, so
        # their anchors are looked for in those runs alone, usually a fraction of the text; one
        # 'in' per anchor costs less than one regex alternation of them all.
        self._run_anchors = tuple(
            (a, i) for i, r in enumerate(builtin) if r.boundary and not r.fold for a in r.anchors
        )
        self._run_rules = frozenset(i for _, i in self._run_anchors)
        # Grouped by their first two characters, so most groups are ruled out with one look-up.
        groups: dict[str, list[tuple[str, int]]] = {}
        for a, i in self._run_anchors:
            groups.setdefault(a[:2], []).append((a, i))
        self._run_anchor_groups = tuple((head, tuple(g)) for head, g in groups.items())
        self._text_anchors = tuple(
            (a, i)
            for i, r in enumerate(builtin)
            if not r.boundary and not r.fold
            for a in r.anchors
        )
        self._folded_anchors = tuple(
            (a, i) for i, r in enumerate(builtin) if r.fold for a in r.anchors
        )
        self._allow_literal = frozenset(self.config.allow)
        self._allow_regex = tuple(_compile_or_none(a) for a in self.config.allow)

    # -- public API ---------------------------------------------------------------------------

    def text(self, value: str, context: str = "") -> str:
        """Return ``value`` with every secret replaced. ``context`` is where the text comes from
        (a dotted JSON path such as ``transcript.headers.authorization``); its last part, when it
        names a secret, makes the whole value one."""
        if not self.config.enabled:
            return value
        key = _last_key(context)
        if key and rules.is_identifier_name(key):
            value = self._apply(value, strong_only=True)
        else:
            value = self._redact_until_stable(value)
            if key and value and MARKER_PREFIX not in value:
                value = self._redact_field(key, value)
        if self._extra is not None:
            value = self._extra(value, context)
        return value

    def json(self, value: JsonValue, context: str = "") -> JsonValue:
        """Return a copy of JSON-like ``value`` with string values redacted; keys, numbers and
        the shape are kept. Ids and base64 media blocks are left as they are."""
        if isinstance(value, str):
            return self.text(value, context)
        if isinstance(value, dict):
            media = _is_media_block(value)
            out: dict[Any, JsonValue] = {}
            for k, v in value.items():
                path = f"{context}.{k}" if context else str(k)
                if media and k in _MEDIA_KEYS and isinstance(v, str):
                    out[k] = v
                else:
                    out[k] = self.json(v, path)
            return out
        if isinstance(value, list | tuple):
            return [self.json(v, context) for v in value]
        return value

    # -- internals ----------------------------------------------------------------------------

    def _redact_until_stable(self, value: str) -> str:
        # A marker can complete a neighbour's shape ('AIza…-AKIA…': once the AWS id becomes a
        # marker, the Google key before it ends on a boundary), so a text with a finding gets
        # another pass, until nothing changes: redacting the output again must change nothing.
        for _ in range(4):
            redacted = self._redact_media_aware(value)
            if redacted == value:
                break
            value = redacted
        return value

    def _allowed(self, secret: str) -> bool:
        if secret in self._allow_literal:
            return True
        return any(p is not None and p.fullmatch(secret) for p in self._allow_regex)

    def _redact_media_aware(self, value: str) -> str:
        if len(value) < _BLOB_MIN:
            return self._apply(value)
        spans = [m.span() for m in _DATA_URL.finditer(value)] if "base64," in value else []
        spans.extend(m.span(1) for m in _BLOB.finditer(value))
        if not spans:
            return self._apply(value)
        pieces: list[str] = []
        last = 0
        for start, end in sorted(spans):
            if start < last:
                continue
            pieces.append(self._apply(value[last:start]))
            pieces.append(value[start:end])
            last = end
        pieces.append(self._apply(value[last:]))
        return "".join(pieces)

    def _apply(self, text: str, strong_only: bool = False) -> str:
        for rule in self._custom:
            text = self._sub(rule, text)
        if len(text) < _MIN_SECRET:
            return text
        runs = "\n".join(_TOKEN_RUN.findall(text))
        present = (
            {
                i
                for head, group in self._run_anchor_groups
                if head in runs
                for a, i in group
                if a in runs
            }
            if runs
            else set()
        )
        present.update(i for a, i in self._text_anchors if a in text)
        if self._folded_anchors:
            lowered = text.lower()
            present.update(i for a, i in self._folded_anchors if a in lowered)
        for i in sorted(present):
            rule = self._rules[i]
            if strong_only and not rule.strong:
                continue
            if i in self._run_rules and not rule.pattern.search(runs):
                continue  # the runs are shorter than the text: a cheaper place to find nothing
            text = self._sub(rule, text)
        if strong_only:
            return text
        spans = [
            (s, e, ASSIGNMENT_ID)
            for s, e in _assignment_spans(text)
            if not self._allowed(text[s:e])
        ]
        return _replace_spans(text, spans)

    def _sub(self, rule: Rule, text: str) -> str:
        group = "secret" if "secret" in rule.pattern.groupindex else 0

        def replace(match: re.Match[str]) -> str:
            whole = match.group(0)
            if rule.boundary and not _word_start(text, match.start()):
                return whole
            secret = match.group(group)
            # a match that takes in a marker (a redacted token read as a URL's user) is not new
            if secret is None or MARKER_PREFIX in whole or self._allowed(secret):
                return whole
            if rule.check is not None and not rule.check(secret):
                return whole
            if group == 0:
                return marker(rule.id)
            start = match.start(group) - match.start()
            end = match.end(group) - match.start()
            return whole[:start] + marker(rule.id) + whole[end:]

        return rule.pattern.sub(replace, text)

    def _redact_field(self, key: str, value: str) -> str:
        """A string under a secret-named key is a secret whatever its shape."""
        lowered = key.lower()
        if lowered in ("authorization", "proxy-authorization", "cookie", "set-cookie"):
            scheme = _SCHEME_VALUE.match(value.strip())
            if scheme and rules.real_token(scheme.group(2)) and not self._allowed(scheme.group(2)):
                return f"{scheme.group(1)} {marker(FIELD_ID)}"
            if rules.plausible_value(value, 8) and not self._allowed(value):
                return marker(FIELD_ID)
            return value
        if not rules.is_secret_name(key) or self._allowed(value):
            return value
        min_len = 1 if _is_password_name(key) else 8
        if rules.plausible_value(value, min_len) and (" " not in value.strip() or min_len == 1):
            return marker(FIELD_ID)
        return value


def _word_start(text: str, index: int) -> bool:
    """Whether ``index`` starts a word: not preceded by a letter, digit or '_', except the
    letter of a JSON escape (the 'n' of '\\nghp_...' in a serialised transcript line)."""
    if index == 0:
        return True
    before = text[index - 1]
    if not (before.isalnum() or before == "_"):
        return True
    if index >= 2 and text[index - 2] == "\\" and before in "nrtbf":
        return True
    return index >= 6 and text[index - 6 : index - 4] == "\\u"


def _compile_or_none(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None  # an allow entry that is not a regex is a literal value only


def _last_key(context: str) -> str:
    return context.rsplit(".", 1)[-1] if context else ""


def _is_media_block(block: dict[Any, Any]) -> bool:
    """Anthropic ``{"type": "base64", "data": ...}``, OpenAI ``image_url``/``input_audio``,
    Gemini ``inline_data``: base64 payloads that are media, not text."""
    kind = block.get("type")
    if kind == "base64" or kind in ("image_url", "input_image", "input_audio"):
        return True
    mime = block.get("media_type") or block.get("mime_type") or block.get("mimeType")
    if isinstance(mime, str) and mime.split("/", 1)[0] in ("image", "audio", "video"):
        return True
    url = block.get("url")
    return isinstance(url, str) and url.startswith(("data:image/", "data:audio/", "data:video/"))
