"""The one text normaliser, PII masker and text hash used by every stage.

Ingestion, golden splits, leakage checks and evaluation all call these, so the
same request always normalises (and hashes) to the same string.

- ``normalize_text``: Unicode NFC, then every run of whitespace (spaces, tabs,
  newlines, NBSP and the other Unicode spaces) becomes one ASCII space; the
  result is stripped.
- ``mask_pii``: e-mail addresses -> ``<EMAIL>``, card numbers (13 to 19 digits,
  optionally grouped with spaces or dashes, with a valid Luhn checksum) ->
  ``<CARD>``, phone numbers -> ``<PHONE>``. Cards are masked before phones so a
  grouped card number is never half-masked as a phone.
- ``text_hash``: SHA-256 hex digest of the normalised text (UTF-8).
"""

import hashlib
import re
import unicodedata

EMAIL_TOKEN = "<EMAIL>"
PHONE_TOKEN = "<PHONE>"
CARD_TOKEN = "<CARD>"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# One scan for both numbers: the card alternative (13-19 digits, single spaces or dashes
# between them) is tried first at each position, so a grouped card is never half-masked
# as a phone. Phone shapes: international (+CC ...), NANP (555) 123-4567 / 555-123-4567,
# and national numbers with a leading 0 (020 7946 0958). Dates (2024-01-31), versions
# (1.2.3) and short order numbers match neither.
_NUMBER = re.compile(
    r"(?P<card>(?<![\d-])\d(?:[ -]?\d){12,18}(?!\d))"
    r"|(?P<phone>(?<![\w+])(?:"
    r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"
    r"|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}"
    r"|\d{3}[.-]\d{3}[.-]\d{4}"
    r"|\d{3} \d{3} \d{4}"
    r"|0\d{2,4}[ .-]\d{3,4}[ .-]?\d{3,4}"
    r")(?!\w))"
)
# Where a phone or card could be: 7+ characters of digits and separators. A plain
# leading character class lets the regex engine skip ahead fast; the full pattern
# above (slow, with lookbehinds) then only runs inside these short spans.
_NUMBER_SPAN = re.compile(r"\d[\d ().-]{5,}\d")


def normalize_text(text: str) -> str:
    """NFC, whitespace runs collapsed to one space, stripped."""
    # str.split() with no argument splits on every Unicode whitespace run (NBSP included).
    return " ".join(unicodedata.normalize("NFC", text).split())


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mask_number(match: re.Match[str]) -> str:
    found = match.group(0)
    if match.lastgroup == "card":
        digits = found.replace(" ", "").replace("-", "")
        return CARD_TOKEN if luhn_valid(digits) else found
    digits = sum(ch.isdigit() for ch in found)
    return PHONE_TOKEN if 7 <= digits <= 15 else found


def mask_pii(text: str) -> str:
    """Replace e-mails, Luhn-valid card numbers and phone numbers with placeholder tokens."""
    if "@" in text:
        text = _EMAIL.sub(EMAIL_TOKEN, text)
    pieces: list[str] = []
    done = 0
    for span in _NUMBER_SPAN.finditer(text):
        start = span.start()
        if start and text[start - 1] in "+(":
            start -= 1
        # Lookbehinds still see the characters before ``start``: pos does not cut the string.
        for found in _NUMBER.finditer(text, start, span.end()):
            pieces.append(text[done : found.start()])
            pieces.append(_mask_number(found))
            done = found.end()
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def text_hash(text: str, *, already_normalized: bool = False) -> str:
    """SHA-256 hex of the normalised text (pass ``already_normalized`` to skip re-normalising)."""
    if not already_normalized:
        text = normalize_text(text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
