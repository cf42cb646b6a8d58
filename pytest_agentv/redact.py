"""Redaction: every byte the plugin writes passes through :class:`Redactor` first.

Three layers, applied in order (see docs/redaction.md):

1. user ``patterns`` from ``.agentv/config.yaml`` (``custom:<name>``);
2. built-in rules: structural secrets (private keys, JWTs, credentials in URLs, Authorization
   headers, ``curl -u``) and provider token formats (:mod:`pytest_agentv.redact_rules`);
3. secret-named assignments (``password = ...``, ``"api_key": "..."``, ``<fooToken>...``), and in
   :meth:`Redactor.json` the key a string sits under.

Each secret becomes ``[REDACTED:<rule-id>]``. No rule matches a marker, so redacting twice
changes nothing. In :meth:`Redactor.json` object keys go through layers 1 and 2 as well (a
secret used as a score name or a field name is renamed, see :class:`KeyNames`), and one scan of
all of an object's strings (:meth:`Redactor.could_change`) lets the usual event, where no rule
can apply, skip the per-string passes.

Longer than most modules because the three layers and the one-pass fast path
(:meth:`Redactor.could_change`) must agree exactly; they are kept side by side so that a change
to one is read beside the others.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pytest_agentv import redact_rules as rules
from pytest_agentv.config_file import NamedPattern, RedactionConfig
from pytest_agentv.redact_rules import MARKER_PREFIX, Rule

__all__ = ["ExtraRedaction", "KeyNames", "NamedPattern", "RedactionConfig", "Redactor"]

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
_REVERSED = re.compile(r"[=!]==?[ \t]*(?P<name>[A-Za-z_][\w.]*)")
# The same, split by operator so that each regex starts with a literal (a faster search).
_REVERSED_SPLIT = (
    ("==", re.compile(r"===?[ \t]*(?P<name>[A-Za-z_][\w.]*)")),
    ("!=", re.compile(r"!==?[ \t]*(?P<name>[A-Za-z_][\w.]*)")),
)
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
# One regex per stem: each starts with a literal, which the regex engine finds several times
# faster than an alternation of them. A name ending in 'tokens' (max_tokens, input_tokens) is a
# count, and by far the most common hit.
_STEMS = ("pass", "pw", "secret", "token", "key", "auth", "cred")
_CANDIDATES = tuple(
    re.compile(
        stem + r"[a-z0-9_.-]*+(?<!tokens)"
        r"(?=[ \t]{0,8}(?:(?:string|str|const|char)[ \t]+)?[=:!?.,>+<\"'`\\\[@])"
    )
    for stem in _STEMS
)
# '--password value': a command-line flag, separated from its value by a space.
# (Written to start with the literal '-', which the regex engine finds quickly; the look-behind
# then checks that the '-' starts a word.)
_FLAG = re.compile(
    r"-(?<![^\s]-)-?[a-z0-9_.-]*(?:pass|pw|secret|token|key|auth|cred)[a-z0-9_.-]*"
    r"(?<!tokens)(?=[ \t])"
)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _candidate_names(text: str) -> Iterator[tuple[int, int]]:
    """Spans of names holding a secret stem and followed by something that can start a value."""
    lowered = text.lower()
    found = [
        m.span()
        for stem, pattern in zip(_STEMS, _CANDIDATES, strict=True)
        if stem in lowered
        for m in pattern.finditer(lowered)
    ]
    if " -" in text or text.startswith("-"):
        found.extend(m.span() for m in _FLAG.finditer(lowered))
    found.sort()
    last_end = -1
    for hit, end in found:
        if hit < last_end:
            continue
        last_end = end
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


# Every token rule's match is a run of these characters at least this long. The runs are found
# on the UTF-8 bytes mapped to 'a' (a token character) or ' ' (any other byte): a literal search
# for sixteen 'a's is several times faster than a character-class regex over the text.
_TOKEN_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~+/=|:%\\-"
_TOKEN_MASK = bytes(ord("a") if i in _TOKEN_CHARS else ord(" ") for i in range(256))
_RUN_MIN = 16
_MASKED_RUN = re.compile(b"a" * _RUN_MIN + b"+")
_BLOB_MASK = b"a" * _BLOB_MIN
#: :func:`token_runs` masks texts longer than this (ASCII) a slice at a time
_MASK_SLICE = 1 << 20
_NON_TOKEN = re.compile(f"[^{re.escape(_TOKEN_CHARS.decode('ascii'))}]")
# Where a word starts, its first two characters: a rule's match begins at a word start (see
# _word_start; a JSON escape before it, '\\nghp_', counts as a space).
_WORD_HEAD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z0-9_].")
_JSON_ESCAPE = re.compile(r"\\(?:[nrtbf]|u[0-9A-Fa-f]{4})")
# No built-in rule matches fewer characters than this ('a://b:cd@e' is the shortest).
_MIN_SECRET = 8


def token_runs(text: str) -> tuple[str, bool]:
    """The runs of token characters at least 16 long, joined by newlines, and whether one is as
    long as a base64 media payload (:data:`_BLOB_MIN`)."""
    if len(text) > _MASK_SLICE and text.isascii():
        # a slice at a time, each ending where no run can go on (a character that is not a
        # token character): the same runs, without a copy of a big message
        runs: list[str] = []
        blob = False
        start = 0
        while start < len(text):
            end = start + _MASK_SLICE
            if end < len(text):
                stop = _NON_TOKEN.search(text, end)
                end = stop.start() if stop is not None else len(text)
            mask = text[start:end].encode("ascii").translate(_TOKEN_MASK)
            runs.extend(
                text[start + m.start() : start + m.end()] for m in _MASKED_RUN.finditer(mask)
            )
            blob = blob or _BLOB_MASK in mask
            start = end
        return "\n".join(runs), blob and bool(runs)
    encoded = text.encode("utf-8", "surrogatepass")
    mask = encoded.translate(_TOKEN_MASK)
    parts = [encoded[m.start() : m.end()] for m in _MASKED_RUN.finditer(mask)]
    if not parts:
        return "", False
    return b"\n".join(parts).decode("ascii"), len(encoded) >= _BLOB_MIN and _BLOB_MASK in mask


class KeyNames:
    """The names redacted object keys get in one run: a key holding a secret becomes its marker,
    the same key the same name everywhere, and two keys never one name (two scores named after
    two secrets keep two aggregates: ``[REDACTED:github-pat]``, ``[REDACTED:github-pat]~2``)."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._taken: set[str] = set()

    def name(self, key: str, redacted: str) -> str:
        """The name of ``key``, given what redaction made of it."""
        if redacted == key:
            return key
        known = self._names.get(key)
        if known is None:
            known, n = redacted, 1
            while known in self._taken:
                n += 1
                known = f"{redacted}~{n}"
            self._names[key] = known
            self._taken.add(known)
        return known


class Redactor:
    """Replaces secrets in text and in JSON-like data with ``[REDACTED:<rule-id>]``."""

    def __init__(self, config: RedactionConfig | None = None, extra: ExtraRedaction | None = None):
        self.config = config or RedactionConfig()
        self._extra = extra
        custom = tuple(
            Rule(f"custom:{p.name}", re.compile(p.regex), (), None, strong=True)
            for p in self.config.patterns
        )
        builtin = (
            rules.PEM_PRIVATE_KEY,
            *rules.STRUCTURAL_RULES,
            *rules.RULES[1:],
            rules.TRUNCATED_TOKEN,
        )
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
        # An anchor a rule's matches start with need only be looked for where a word starts:
        # the first two characters of every word of the runs are collected with one regex and
        # looked up here; the few anchors inside a match are searched for the plain way.
        groups: dict[str, list[tuple[str, int]]] = {}
        for a, i in self._run_anchors:
            if builtin[i].leading:
                groups.setdefault(a[:2], []).append((a, i))
        self._leading_groups = {head: tuple(g) for head, g in groups.items() if len(head) == 2}
        # one-character anchors ('M', 'N', 'O' of a Discord token) by the first character alone
        self._leading_initials = {head: tuple(g) for head, g in groups.items() if len(head) == 1}
        self._inner_anchors = tuple((a, i) for a, i in self._run_anchors if not builtin[i].leading)
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
        identifier = bool(key) and rules.is_identifier_name(key)
        if self._custom or self.could_change(value):
            if identifier:
                value = self._apply(value, strong_only=True)
            else:
                value = self._redact_until_stable(value)
        return self._finish(value, key, identifier, context)

    def json(self, value: JsonValue, context: str = "", names: KeyNames | None = None) -> JsonValue:
        """Return a copy of JSON-like ``value`` with strings redacted, keys included; numbers
        and the shape are kept. Ids and base64 media blocks are left as they are.

        One scan of all the strings together decides whether any rule can apply; when none can
        (most transcript events), each string is only checked against its key. A key that holds
        a secret is renamed through ``names`` (pass one :class:`KeyNames` for a whole run)."""
        if not self.config.enabled:
            return _copy(value)
        pieces: list[str] = []
        keyed = [False]
        copy = _gather(value, _last_key(context), pieces, keyed)
        if not self._custom and not self.could_change("\n".join(pieces)):
            if keyed[0]:
                return self._walk(copy, context, True, KeyNames())
            if self._extra is not None:
                if isinstance(copy, str):
                    return self._extra(copy, context)
                _offer(copy, context, self._extra)
            return copy  # nothing for the rules to do: the common case
        return self._walk(value, context, False, names if names is not None else KeyNames())

    def json_many(
        self, values: Sequence[JsonValue], context: str = "", names: KeyNames | None = None
    ) -> list[JsonValue]:
        """:meth:`json` of each of ``values`` (a batch of transcript events): the same result,
        with one scan deciding for the whole batch whether any rule can apply.

        The scan covers texts joined in groups of about :data:`_SCAN_GROUP` characters, a
        longer text alone: as exact as :meth:`json`'s own (each string is checked as part of
        a joined text), without a copy of a big message."""
        if not self.config.enabled or self._custom:
            return [self.json(value, context, names) for value in values]
        pieces: list[str] = []
        keyed = [False]
        key = _last_key(context)
        copies = [_gather(value, key, pieces, keyed) for value in values]
        if keyed[0] or any(self.could_change(text) for text in _scan_groups(pieces)):
            return [self.json(value, context, names) for value in values]
        if self._extra is not None:
            for n, copy in enumerate(copies):
                if isinstance(copy, str):
                    copies[n] = self._extra(copy, context)
                else:
                    _offer(copy, context, self._extra)
        return copies

    def could_change(self, text: str) -> bool:
        """Whether a built-in rule might change ``text``; False is a promise that none does.

        The same conditions as the rules themselves (an anchor present, then the rule's regex
        found), run once over a whole event instead of once per string."""
        if len(text) < _MIN_SECRET:
            return False
        for a, i in self._text_anchors:
            if a in text and self._rules[i].pattern.search(text):
                return True
        lowered = text.lower()
        for a, i in self._folded_anchors:
            if a in lowered and self._rules[i].pattern.search(text):
                return True
        runs, blob = token_runs(text)
        if blob or "base64," in text:
            return True  # media-aware splitting: leave it to the full pass
        if runs and any(self._rules[i].pattern.search(runs) for i in self._run_rules_in(runs)):
            return True
        return _may_assign(text, lowered)

    # -- internals ----------------------------------------------------------------------------

    def _run_rules_in(self, runs: str) -> set[int]:
        """The token rules with an anchor in ``runs`` (a leading one where a word starts)."""
        present = {i for a, i in self._inner_anchors if a in runs}
        words = _JSON_ESCAPE.sub(" ", runs) if "\\" in runs else runs
        heads = set(_WORD_HEAD.findall(words))
        for head in self._leading_groups.keys() & heads:
            present.update(i for a, i in self._leading_groups[head] if a in runs)
        if self._leading_initials:
            for initial in self._leading_initials.keys() & {h[0] for h in heads}:
                present.update(i for _, i in self._leading_initials[initial])
        return present

    def _walk(self, value: JsonValue, context: str, clean: bool, names: KeyNames) -> JsonValue:
        if isinstance(value, str):
            if clean:
                key = _last_key(context)
                return self._finish(
                    value, key, bool(key) and rules.is_identifier_name(key), context
                )
            return self.text(value, context)
        if isinstance(value, dict):
            media = _is_media_block(value)
            out: dict[Any, JsonValue] = {}
            for k, v in value.items():
                name = k
                if isinstance(k, str) and not clean and (self._custom or self.could_change(k)):
                    name = names.name(k, self._redact_until_stable(k))
                    while name in out:  # a key that already held a marker: keep both values
                        name += "~"
                path = f"{context}.{name}" if context else str(name)
                if media and k in _MEDIA_KEYS and isinstance(v, str):
                    out[name] = v
                else:
                    out[name] = self._walk(v, path, clean, names)
            return out
        if isinstance(value, list | tuple):
            return [self._walk(v, context, clean, names) for v in value]
        return value

    def _finish(self, value: str, key: str, identifier: bool, context: str) -> str:
        """The key's say (a secret-named field is a secret whatever its shape), then the hook."""
        if key and not identifier and value and MARKER_PREFIX not in value:
            value = self._redact_field(key, value)
        if self._extra is not None:
            value = self._extra(value, context)
        return value

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
        runs = token_runs(text)[0]
        present = self._run_rules_in(runs) if runs else set()
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
        if lowered in _FIELD_KEYS:
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


def _may_assign(text: str, lowered: str) -> bool:
    """Whether :func:`_assignment_spans` might find a value in ``text`` (``lowered`` is
    ``text.lower()``): a secret-named name is there."""
    found: list[re.Match[str]] = []
    for stem, pattern in zip(_STEMS, _CANDIDATES, strict=True):
        if stem in lowered:
            found.extend(pattern.finditer(lowered))
    if " -" in text or text.startswith("-"):
        found.extend(_FLAG.finditer(lowered))
    for match in found:
        hit, end = match.span()
        start = hit
        while start > 0 and text[start - 1] in _NAME_CHARS and hit - start < 100:
            start -= 1
        if rules.is_secret_name(text[start:end].strip(".-")):
            return True
    for operator, pattern in _REVERSED_SPLIT:
        if operator not in text:
            continue
        for match in pattern.finditer(text):
            close = match.start()
            while close > 0 and text[close - 1] in " \t":
                close -= 1
            if text[close - 1 : close] in ("'", '"') and rules.is_secret_name(match.group("name")):
                return True
    return any(
        gate in text and any(rules.is_secret_name(m.group("name")) for m in pattern.finditer(text))
        for pattern, gate in ((_XML, "</"), (_KEY_VALUE_ATTRS, "value="))
    )


_FIELD_KEYS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


@functools.lru_cache(maxsize=4096)
def _keyed(key: str) -> bool:
    """Whether a string under ``key`` can be redacted for its key alone (``_redact_field``)."""
    return (
        bool(key)
        and not rules.is_identifier_name(key)
        and (key.lower() in _FIELD_KEYS or rules.is_secret_name(key))
    )


#: :meth:`Redactor.json_many` scans its texts joined in groups of about this many characters
_SCAN_GROUP = 1 << 20


def _scan_groups(pieces: list[str]) -> Iterator[str]:
    """``pieces`` joined by newlines into groups of about :data:`_SCAN_GROUP` characters; a
    piece that long on its own is its own group (not copied)."""
    group: list[str] = []
    size = 0
    for piece in pieces:
        if len(piece) >= _SCAN_GROUP:
            yield piece
            continue
        group.append(piece)
        size += len(piece) + 1
        if size >= _SCAN_GROUP:
            yield "\n".join(group)
            group, size = [], 0
    if group:
        yield "\n".join(group)


def _gather(value: JsonValue, key: str, pieces: list[str], keyed: list[bool]) -> JsonValue:
    """A copy of ``value``. Its strings, keys included and media payloads not, are appended to
    ``pieces``; ``keyed[0]`` becomes True when a string sits under a secret-named key."""
    if isinstance(value, str):
        pieces.append(value)
        if not keyed[0] and _keyed(key):
            keyed[0] = True
        return value
    if isinstance(value, dict):
        media = _is_media_block(value)
        out: dict[Any, JsonValue] = {}
        for k, v in value.items():
            if isinstance(k, str):
                pieces.append(k)
            if media and k in _MEDIA_KEYS and isinstance(v, str):
                out[k] = v
            else:
                # the key the text sees: the last part of the dotted path (see _last_key)
                out[k] = _gather(v, str(k).rsplit(".", 1)[-1], pieces, keyed)
        return out
    if isinstance(value, list | tuple):
        return [_gather(v, key, pieces, keyed) for v in value]
    return value


def _offer(value: JsonValue, context: str, extra: ExtraRedaction) -> None:
    """Replace, in place, each string of a copy made by :func:`_gather` (media payloads aside)
    by what ``extra`` returns for it, given its dotted path as :meth:`Redactor.json` builds it."""
    if isinstance(value, dict):
        media = _is_media_block(value)
        for k, v in value.items():
            path = f"{context}.{k}" if context else str(k)
            if isinstance(v, str):
                if not (media and k in _MEDIA_KEYS):
                    value[k] = extra(v, path)
            elif isinstance(v, dict | list):
                _offer(v, path, extra)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, str):
                value[i] = extra(v, context)
            elif isinstance(v, dict | list):
                _offer(v, context, extra)


def _copy(value: JsonValue) -> JsonValue:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    return value


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
