#!/usr/bin/env python3
"""Offline sanity checks for the built-in rule catalogue (config/rules/*.toml).

Python 3.11+, standard library only. This is a rough approximation of the Rust engine:

* schema: only the known keys, with the right types; ids `secret.provider.what` (or
  `pii.what`), lowercase, unique;
* regex portability: flags constructs the Rust `regex` crate rejects or reads differently
  (lookaround, backreferences, atomic/possessive groups, class set operations, `\\Z`, ...);
* every example produces a finding for its own rule (keyword prefilter, regex, secret group,
  entropy, allow-list, validator, context, the placeholder filter of src/rules/filters.rs), also
  after the engine's overlap dedupe and in every place `nbguard rules check` puts it (plain text,
  stream output, HTML output, traceback, cell and notebook metadata);
* no negative example produces a finding from any rule, in any of those places;
* optionally (`--corpus DIR`) scans notebooks, decoding them roughly the way the engine does
  (JSON strings decoded, image payloads skipped), and prints what fires, by severity.

The real check is `nbguard rules check`; Python `re` and Rust `regex` agree on the simple syntax
used here, but not on everything. The built-in catalogue is embedded at build time; to try edited
rules with an existing binary, emit them as custom rules (same ids replace the built-in ones):

    python3 scripts/check_rules.py --emit-config /tmp/rules-as-config.toml
    target/release/nbguard rules --config /tmp/rules-as-config.toml check
    target/release/nbguard scan --config /tmp/rules-as-config.toml --format json DIR

Usage:
    python3 scripts/check_rules.py                  # catalogue checks
    python3 scripts/check_rules.py --corpus DIR     # also scan *.ipynb under DIR
    python3 scripts/check_rules.py --corpus DIR --show 5 --min-severity high
"""
from __future__ import annotations

import argparse
import base64
import binascii
import html
import json
import math
import re
import sys
import tomllib
import zlib
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULE_DIR = ROOT / "config" / "rules"

SEVERITIES = ["info", "low", "medium", "high", "critical"]
VALIDATORS = {"token-crc32", "github-crc32", "npm-crc32", "luhn", "iban", "us-ssn", "jwt"}
KEYS = {
    "id": str,
    "title": str,
    "description": str,
    "severity": str,
    "keywords": list,
    "regex": str,
    "secret_group": (int, str),
    "entropy": (int, float),
    "validator": str,
    "allow": list,
    "context": dict,
    "placeholder_check": bool,
    "fix": str,
    "examples": list,
    "negative_examples": list,
}
REQUIRED = {"id", "title", "severity", "regex"}
# secret.<provider>.<what>; PII rules may be just pii.<what>.
ID_RE = re.compile(r"^(?:secret(?:\.[a-z0-9][a-z0-9-]*){2,}|pii(?:\.[a-z0-9][a-z0-9-]*){1,})$")

# --------------------------------------------------------------------------------------------
# Rust `regex` portability lint


def rust_lint(pattern: str) -> list[str]:
    """Constructs that Rust's `regex` rejects, or reads differently from Python's `re`."""
    problems = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = 0
    while i < n:
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1] if i + 1 < n else ""
            if not in_class and nxt.isdigit() and nxt != "0":
                problems.append(f"backreference \\{nxt} at {i}")
            if nxt in ("Z", "z"):
                problems.append(f"\\{nxt} at {i} (use $ without (?m))")
            if nxt in ("<", ">") and not in_class:
                problems.append(f"\\{nxt} at {i} is a word boundary in Rust, a literal in Python")
            if nxt == "g" and pattern[i + 2 : i + 3] == "<":
                problems.append(f"\\g<...> at {i}")
            i += 2
            continue
        if in_class:
            if c == "[" and i != class_start:
                if pattern[i : i + 2] != "[:":
                    problems.append(f"unescaped [ inside a class at {i} (nested class in Rust)")
            if pattern[i : i + 2] in ("&&", "--", "~~") and i > class_start:
                problems.append(f"{pattern[i:i+2]!r} inside a class at {i} (set operation in Rust)")
            if c == "]" and i != class_start:
                in_class = False
            i += 1
            continue
        if c == "[":
            in_class = True
            class_start = i + 1
            if pattern[i + 1 : i + 2] == "^":
                class_start = i + 2
            i = class_start
            # a leading ] is literal in both dialects
            if i < n and pattern[i] == "]":
                i += 1
            continue
        if c == "(" and pattern[i + 1 : i + 2] == "?":
            rest = pattern[i + 2 : i + 5]
            if rest.startswith(("=", "!", "<=", "<!")):
                problems.append(f"lookaround at {i}")
            elif rest.startswith(">"):
                problems.append(f"atomic group at {i}")
            elif rest.startswith("P="):
                problems.append(f"named backreference at {i}")
            elif rest.startswith("#"):
                problems.append(f"comment group at {i}")
            else:
                m = re.match(r"\(\?([a-zA-Z-]*)[:)]", pattern[i:])
                if m:
                    for flag in m.group(1):
                        if flag not in "imsUux-":
                            problems.append(f"inline flag {flag!r} at {i} is not portable")
        if c in "*+?}" and i + 1 < n and pattern[i + 1] == "+":
            problems.append(f"possessive quantifier at {i}")
        if c == "{" and re.match(r"\{,\d+\}", pattern[i:]):
            problems.append(f"{{,n}} at {i} (write {{0,n}})")
        i += 1
    if in_class:
        problems.append("unterminated character class")
    return problems


# --------------------------------------------------------------------------------------------
# Validators (same logic as src/rules/validate.rs)

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(n: int, width: int) -> str:
    out = ""
    while n > 0:
        out = BASE62[n % 62] + out
        n //= 62
    return out.rjust(width, "0")


def token_crc32(token: str) -> bool:
    body = token.rsplit("_", 1)[-1]
    if len(body) < 7 or not body.isascii():
        return False
    rnd, check = body[:-6], body[-6:]
    return base62(zlib.crc32(rnd.encode()), 6) == check


def luhn(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    if not 12 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


IBAN_LENGTHS = dict(
    AD=24, AE=23, AL=28, AT=20, AZ=28, BA=20, BE=16, BG=22, BH=22, BR=29, BY=28, CH=21, CR=22,
    CY=28, CZ=24, DE=22, DK=18, DO=28, EE=20, EG=29, ES=24, FI=18, FO=18, FR=27, GB=22, GE=22,
    GI=23, GL=18, GR=27, GT=28, HR=21, HU=28, IE=22, IL=23, IQ=23, IS=26, IT=27, JO=30, KW=30,
    KZ=20, LB=28, LC=32, LI=21, LT=20, LU=20, LV=21, MC=27, MD=24, ME=22, MK=19, MR=27, MT=31,
    MU=30, NL=18, NO=15, PK=24, PL=28, PS=29, PT=25, QA=29, RO=24, RS=22, SA=24, SC=31, SE=24,
    SI=19, SK=24, SM=27, ST=25, SV=28, TL=23, TN=24, TR=26, UA=29, VA=22, VG=24, XK=20,
)


def iban(text: str) -> bool:
    s = "".join(text.split()).upper()
    if len(s) < 15 or not s.isascii() or not s.isalnum():
        return False
    if IBAN_LENGTHS.get(s[:2]) != len(s):
        return False
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97 == 1


def us_ssn(text: str) -> bool:
    d = "".join(c for c in text if c.isdigit())
    if len(d) != 9:
        return False
    area, group, serial = int(d[:3]), int(d[3:5]), int(d[5:])
    return not (
        area == 0 or area == 666 or area >= 900 or group == 0 or serial == 0
        or d in ("078051120", "219099999", "123456789")
    )


def jwt(token: str) -> bool:
    parts = token.split(".")
    if len(parts) < 2:
        return False
    header = parts[0].rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        return False
    return isinstance(value, dict) and ("alg" in value or "typ" in value)


VALIDATE = {
    "token-crc32": token_crc32, "github-crc32": token_crc32, "npm-crc32": token_crc32,
    "luhn": luhn, "iban": iban, "us-ssn": us_ssn, "jwt": jwt,
}

# --------------------------------------------------------------------------------------------
# Engine approximation


def entropy(s: str) -> float:
    if not s:
        return 0.0
    counts = Counter(s)
    return -sum(c / len(s) * math.log2(c / len(s)) for c in counts.values())


# Mirrors `is_placeholder` in src/rules/filters.rs (keep in sync).
PLACEHOLDER_PARTS = [
    "xxxx", "****", "....", "\u2022\u2022\u2022", "${", "{{", "}}", "<%", "%(", "$(", "your_", "your-",
    "yourapi", "yourkey", "yourpass", "yoursecret", "yourtoken", "change_me", "changeme",
    "change-me", "placeholder", "example", "dummy", "sample", "redacted", "insert_", "insert-",
    "enter_your", "enter-your", "replace_", "replace-with", "put_your", "fill_in", "fillme",
    "todo", "fixme", "notreal", "not_real", "not-a-real", "fake_", "fake-", "secret_here",
    "key_here", "token_here", "password_here", "_here>", "mypassword", "my_password",
    "my-password", "mysecret", "my_secret", "myapikey", "my_api_key", "my-api-key", "mytoken",
    "my_token",
]
PLACEHOLDER_WORDS = {
    "password", "passwd", "secret", "token", "apikey", "api_key", "none", "null", "nil", "true",
    "false", "string", "str", "required", "optional", "default", "undefined", "empty", "test",
    "testing", "admin", "root", "user", "username", "pass", "guest", "demo", "abc123", "123456",
    "12345678", "qwerty", "letmein", "foobar", "foo", "bar", "baz", "value", "key", "private",
    "env", "environ", "getenv", "getpass", "input", "os.environ", "hidden", "masked", "censored",
}


def _ascii_lower(s: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in s)


def looks_like_placeholder(secret: str) -> bool:
    lower = _ascii_lower(secret)
    if lower in PLACEHOLDER_WORDS:
        return True
    if any(p in lower for p in PLACEHOLDER_PARTS):
        return True
    trimmed = re.sub(r"^[^a-z0-9]+|[^a-z0-9]+$", "", lower)
    if not trimmed:
        return True
    first, last = secret[0], secret[-1]
    if (first, last) in (("<", ">"), ("[", "]"), ("{", "}"), ("%", "%")) or first == "$":
        return True
    if len(trimmed.encode()) >= 4 and len(set(trimmed)) == 1:
        return True
    if (len(secret) >= 6 and "_" in secret and re.fullmatch(r"[A-Z0-9_]+", secret)
            and re.search(r"[A-Z]", secret)):
        return True
    return False


def ascii_classes(pattern: str) -> str:
    """Like `ascii_classes` in src/rules/catalogue.rs: the engine reads \\b, \\w and \\d as ASCII."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c != "\\" or i + 1 >= len(pattern):
            out.append(c)
            i += 1
            continue
        nxt = pattern[i + 1]
        out.append({"b": r"(?a:\b)", "B": r"(?a:\B)", "w": "[0-9A-Za-z_]", "W": "[^0-9A-Za-z_]",
                    "d": "[0-9]", "D": "[^0-9]"}.get(nxt, c + nxt))
        i += 2
    return "".join(out)


class Rule:
    def __init__(self, raw: dict, file: str):
        self.raw = raw
        self.file = file
        self.id = raw["id"]
        self.severity = raw["severity"]
        self.keywords = [k.lower() for k in raw.get("keywords", [])]
        self.regex = re.compile(ascii_classes(raw["regex"]))
        sg = raw.get("secret_group")
        if sg is None:
            if "secret" in self.regex.groupindex:
                sg = "secret"
            elif self.regex.groups >= 1:
                sg = 1
            else:
                sg = 0
        self.secret_group = sg
        self.entropy = raw.get("entropy")
        self.validator = VALIDATE[raw["validator"]] if raw.get("validator") else None
        self.allow = [re.compile(ascii_classes(a)) for a in raw.get("allow", [])]
        ctx = raw.get("context")
        self.context = (re.compile(ascii_classes(ctx["regex"])), ctx.get("lines", 3)) if ctx else None
        self.placeholder_check = raw.get("placeholder_check", True)

    def findings(self, text: str, lower: str | None = None, why: list | None = None):
        """Yields (start, end, secret) for each finding in `text`."""
        lower = text.lower() if lower is None else lower
        if self.keywords and not any(k in lower for k in self.keywords):
            if why is not None:
                why.append("no keyword")
            return
        line_starts = None
        for m in self.regex.finditer(text):
            secret = m.group(self.secret_group)
            start, end = m.span(self.secret_group)
            if secret is None:
                secret, (start, end) = m.group(0), m.span(0)
            if not secret:
                continue
            if self.entropy is not None and entropy(secret) < self.entropy:
                if why is not None:
                    why.append(f"entropy {entropy(secret):.2f} < {self.entropy} for {secret!r}")
                continue
            if any(a.search(secret) for a in self.allow):
                if why is not None:
                    why.append(f"allow-listed {secret!r}")
                continue
            if self.validator and not self.validator(secret):
                if why is not None:
                    why.append(f"validator rejects {secret!r}")
                continue
            if self.context:
                if line_starts is None:
                    line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
                ctx_re, n = self.context
                first = _line_of(line_starts, m.start())
                last = _line_of(line_starts, max(m.end() - 1, m.start()))
                lo = line_starts[max(0, first - n)]
                hi_line = last + n + 1
                hi = line_starts[hi_line] if hi_line < len(line_starts) else len(text)
                if not ctx_re.search(text[lo:hi]):
                    if why is not None:
                        why.append(f"no context for {secret!r}")
                    continue
            if self.placeholder_check and looks_like_placeholder(secret):
                if why is not None:
                    why.append(f"placeholder {secret!r}")
                continue
            yield start, end, secret


def _line_of(line_starts: list[int], pos: int) -> int:
    lo, hi = 0, len(line_starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if line_starts[mid] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo


# --------------------------------------------------------------------------------------------
# Loading and checking


def load(rule_dir: Path):
    errors, rules, raws = [], [], []
    seen = {}
    for path in sorted(rule_dir.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            errors.append(f"{path.name}: TOML error: {e}")
            continue
        extra = set(data) - {"rule"}
        if extra:
            errors.append(f"{path.name}: unknown top-level keys {sorted(extra)}")
        for raw in data.get("rule", []):
            rid = raw.get("id", "<no id>")
            where = f"{path.name}: {rid}"
            ok = True
            for k, v in raw.items():
                if k not in KEYS:
                    errors.append(f"{where}: unknown key {k!r}")
                    ok = False
                elif not isinstance(v, KEYS[k]) or (isinstance(v, bool) and KEYS[k] is not bool):
                    errors.append(f"{where}: {k} has type {type(v).__name__}")
                    ok = False
            for k in REQUIRED - set(raw):
                errors.append(f"{where}: missing {k}")
                ok = False
            if not ok:
                continue
            if not ID_RE.match(rid):
                errors.append(f"{where}: id is not `kind.provider.what` in lowercase")
            if rid in seen:
                errors.append(f"{where}: duplicate id (also in {seen[rid]})")
            seen[rid] = path.name
            if raw["severity"] not in SEVERITIES:
                errors.append(f"{where}: unknown severity {raw['severity']!r}")
            if raw.get("validator") and raw["validator"] not in VALIDATORS:
                errors.append(f"{where}: unknown validator {raw['validator']!r}")
            for lst in ("keywords", "allow", "examples", "negative_examples"):
                if not all(isinstance(x, str) for x in raw.get(lst, [])):
                    errors.append(f"{where}: {lst} must be strings")
            if any(not k for k in raw.get("keywords", [])):
                errors.append(f"{where}: empty keyword")
            for field in ("title", "description", "fix"):
                if not raw.get(field, "").strip():
                    errors.append(f"{where}: {field} is empty")
            if not raw.get("examples"):
                errors.append(f"{where}: no examples")
            if not raw.get("negative_examples"):
                errors.append(f"{where}: no negative examples")
            # Keyword-less rules run on every text: personal data, and formats without any literal
            # part whose context requirement keeps them quiet (e.g. Discord bot tokens).
            if not raw.get("keywords") and not rid.startswith("pii.") and not raw.get("context"):
                errors.append(f"{where}: no keywords (and no context)")
            ctx = raw.get("context")
            if ctx is not None:
                if set(ctx) - {"regex", "lines"} or not isinstance(ctx.get("regex"), str):
                    errors.append(f"{where}: context must be {{ regex = '...', lines = N }}")
                    continue
                if not isinstance(ctx.get("lines", 3), int):
                    errors.append(f"{where}: context.lines must be an integer")
            patterns = [("regex", raw["regex"])]
            patterns += [("allow", a) for a in raw.get("allow", [])]
            if ctx:
                patterns.append(("context", ctx["regex"]))
            bad = False
            for what, pat in patterns:
                for p in rust_lint(pat):
                    errors.append(f"{where}: {what} regex: {p}")
                try:
                    re.compile(pat)
                except re.error as e:
                    errors.append(f"{where}: {what} regex does not compile: {e}")
                    bad = True
            if bad:
                continue
            rule = Rule(raw, path.name)
            sg = rule.secret_group
            if isinstance(sg, int) and sg > rule.regex.groups:
                errors.append(f"{where}: no capture group {sg}")
                continue
            if isinstance(sg, str) and sg not in rule.regex.groupindex:
                errors.append(f"{where}: no capture group named {sg}")
                continue
            rules.append(rule)
            raws.append(raw)
    return rules, errors


def scan_text(rules: list[Rule], text: str):
    """Findings in one text after the engine's dedupe: where secrets overlap, a provider rule wins
    over a generic one, then the higher severity, then the longer secret, then rule order."""
    lower = text.lower()
    found = []
    for order, rule in enumerate(rules):
        for s, e, secret in rule.findings(text, lower):
            found.append((s, e, secret, rule, order))

    def rank(f):
        s, e, _, rule, _ = f
        return (".generic." not in rule.id, SEVERITIES.index(rule.severity), e - s)

    found.sort(key=lambda f: (f[0], tuple(-x for x in rank(f)), f[4]))
    kept = []
    for f in found:
        for i, k in enumerate(kept):
            if k[0] < f[1] and f[0] < k[1]:
                if rank(f) > rank(k):
                    kept[i] = f
                break
        else:
            kept.append(f)
    return kept


def _html_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Where `nbguard rules check` puts each example (src/commands/rules.rs), as decoded text.
PLACEMENTS = {
    "plain text": lambda t: t,
    "stream output": lambda t: f"step 1\n{t}\n",
    # HTML outputs are HTML-escaped in the notebook and decoded again by the engine.
    "html output": lambda t: f"<div><pre>{html.unescape(_html_escape(t))}</pre></div>",
    "traceback": lambda t: "----------------------------------------------------------------\n"
    f"ValueError: bad config {t}",
    "cell metadata": lambda t: _json_text({"tags": ["parameters"], "note": t}),
    "notebook metadata": lambda t: _json_text(
        {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
         "papermill": {"parameters": {"connection": t}}}),
}


def check_examples(rules: list[Rule]) -> list[str]:
    errors = []
    for rule in rules:
        for ex in rule.raw.get("examples", []):
            if rule.keywords and not any(k in ex.lower() for k in rule.keywords):
                errors.append(f"{rule.id}: no keyword occurs in example {ex!r}")
            if not rule.regex.search(ex):
                errors.append(f"{rule.id}: regex does not match example {ex!r}")
                continue
            why: list[str] = []
            if not list(rule.findings(ex, why=why)):
                errors.append(f"{rule.id}: example {ex!r} is filtered out: {'; '.join(why)}")
                continue
            for place, wrap in PLACEMENTS.items():
                found = scan_text(rules, wrap(ex))
                if not any(f[3] is rule for f in found):
                    errors.append(f"{rule.id}: example {ex!r} not found in {place} "
                                  f"(found: {[f[3].id for f in found]})")
                    break
        for ex in rule.raw.get("negative_examples", []):
            for place, wrap in PLACEMENTS.items():
                found = scan_text(rules, wrap(ex))
                if found:
                    f = found[0]
                    errors.append(f"{rule.id}: negative example {ex!r} fires {f[3].id} on "
                                  f"{f[2]!r} in {place}")
                    break
    return errors


# --------------------------------------------------------------------------------------------
# Corpus scan

def _text(v) -> str:
    return "".join(x for x in v if isinstance(x, str)) if isinstance(v, list) else v if isinstance(v, str) else ""


def _json_text(v) -> str:
    """JSON text with string bodies decoded (escapes resolved), like MappedText::push_json_text."""
    if isinstance(v, dict):
        return "{" + ", ".join(f'"{k}": {_json_text(x)}' for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_json_text(x) for x in v) + "]"
    if isinstance(v, str):
        return f'"{v}"'
    return json.dumps(v)


DATA_URI = re.compile(r"(data:[^\n]{0,72};base64,)([A-Za-z0-9+/=]+)")


def _blank_data_uris(text: str) -> str:
    if ";base64," not in text:
        return text
    return DATA_URI.sub(lambda m: m.group(1) + " " * len(m.group(2)), text)


def _textual(mime: str) -> bool:
    m = mime.lower()
    if m.startswith(("image/", "audio/", "video/", "font/")) or m in (
        "application/pdf", "application/octet-stream") or m.endswith("+zip"):
        return False
    return m.startswith("text/") or m.endswith(("json", "javascript", "+xml", "/xml", "/x-python"))


ANSI = re.compile(r"\x1b\[[0-9;?]*[@-~]")


def notebook_texts(nb: dict):
    """(location, text) pairs, roughly the engine's segments (src/notebook/mod.rs): decoded
    sources and textual outputs, JSON metadata with strings decoded, data: URIs blanked."""
    out = []
    cells = nb.get("cells")
    if cells is None:
        cells = [c for ws in nb.get("worksheets", []) for c in ws.get("cells", [])]
    for ci, cell in enumerate(cells):
        kind = cell.get("cell_type", "?")
        src = cell.get("source", cell.get("input", ""))
        out.append((f"cell{ci} {kind} source", _text(src)))
        for oi, o in enumerate(cell.get("outputs", []) or []):
            ot = o.get("output_type", "")
            if ot == "stream":
                out.append((f"cell{ci} output{oi} stream", ANSI.sub("", _text(o.get("text", "")))))
            elif ot in ("error", "pyerr"):
                for k in ("ename", "evalue"):
                    out.append((f"cell{ci} output{oi} {k}", _text(o.get(k, ""))))
                tb = "\n".join(x.rstrip("\n") for x in o.get("traceback", []))
                out.append((f"cell{ci} output{oi} traceback", ANSI.sub("", tb)))
            else:
                data = o.get("data")
                if data is None:
                    v3 = {"text": "text/plain", "html": "text/html", "latex": "text/latex",
                          "markdown": "text/markdown", "json": "application/json",
                          "javascript": "application/javascript"}
                    data = {v3[k]: v for k, v in o.items() if k in v3}
                for mime, val in data.items():
                    if not _textual(mime):
                        continue
                    if isinstance(val, str) or (isinstance(val, list) and all(isinstance(x, str) for x in val)):
                        text = _text(val)
                        if "html" in mime or "xml" in mime:
                            text = html.unescape(text)
                        out.append((f"cell{ci} output{oi} {mime}", text))
                    else:
                        out.append((f"cell{ci} output{oi} {mime}", _json_text(val)))
            if o.get("metadata"):
                out.append((f"cell{ci} output{oi} metadata", _json_text(o["metadata"])))
        if cell.get("metadata"):
            out.append((f"cell{ci} metadata", _json_text(cell["metadata"])))
    if nb.get("metadata") is not None:
        out.append(("metadata", _json_text(nb["metadata"])))
    for loc, text in out:
        yield loc, _blank_data_uris(text)


def scan_corpus(rules, corpus: Path, show: int, min_sev: str):
    files = sorted(corpus.rglob("*.ipynb"))
    per_rule = defaultdict(list)
    for f in files:
        try:
            nb = json.loads(f.read_text(encoding="utf-8", errors="replace"))
        except (json.JSONDecodeError, OSError) as e:
            print(f"skip {f}: {e}", file=sys.stderr)
            continue
        for loc, text in notebook_texts(nb):
            if not text:
                continue
            lower = text.lower()
            for rule in rules:
                for s, e, secret in rule.findings(text, lower):
                    ls = text.rfind("\n", 0, s) + 1
                    le = text.find("\n", e)
                    line = text[ls : le if le != -1 else len(text)]
                    per_rule[rule.id].append((f.relative_to(corpus), loc, secret, line[:200]))
    floor = SEVERITIES.index(min_sev)
    by_id = {r.id: r for r in rules}
    total = Counter()
    print(f"\ncorpus: {len(files)} notebooks")
    for rid, hits in sorted(per_rule.items(), key=lambda kv: -len(kv[1])):
        sev = by_id[rid].severity
        total[sev] += len(hits)
        if SEVERITIES.index(sev) < floor:
            continue
        print(f"  {rid} [{sev}]: {len(hits)} hits")
        for path, loc, secret, line in hits[:show]:
            print(f"      {path} ({loc}): {secret[:60]!r}  | {line.strip()[:140]}")
    print("  findings by severity:", dict(total))
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", type=Path, default=RULE_DIR)
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--show", type=int, default=3, help="hits to print per rule")
    ap.add_argument("--min-severity", default="info", choices=SEVERITIES)
    ap.add_argument("--emit-config", type=Path, metavar="FILE",
                    help="also write the rule files as one config file of [[rules.custom]]")
    args = ap.parse_args()
    if args.emit_config:
        parts = [f.read_text().replace("[[rule]]", "[[rules.custom]]")
                 for f in sorted(args.rules.glob("*.toml"))]
        args.emit_config.write_text("\n".join(parts))

    rules, errors = load(args.rules)
    errors += check_examples(rules)
    counts = Counter(r.file for r in rules)
    for name, n in sorted(counts.items()):
        print(f"{name:16} {n:4} rules")
    kinds = Counter(r.id.split(".")[0] for r in rules)
    print(f"total: {len(rules)} rules ({kinds['secret']} secret, {kinds['pii']} pii), "
          f"{sum(len(r.raw.get('examples', [])) for r in rules)} examples, "
          f"{sum(len(r.raw.get('negative_examples', [])) for r in rules)} negative examples")
    for e in errors:
        print("ERROR", e)
    print(f"{len(errors)} problem(s)")
    if args.corpus:
        total = scan_corpus(rules, args.corpus, args.show, args.min_severity)
        if total["critical"] or total["high"]:
            print("corpus has critical/high findings")
            return 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
