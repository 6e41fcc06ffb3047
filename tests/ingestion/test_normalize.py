import pytest

from slm_assets.core.normalize import luhn_valid, mask_pii, normalize_text, text_hash


def test_normalize_nfc_and_every_whitespace_kind():
    # "e" + combining acute (NFD) becomes the single precomposed character.
    assert normalize_text("  Caf\u0065\u0301\u00a0\tlatte\r\n\n ok \u2003 ") == "Caf\u00e9 latte ok"


def test_normalize_is_idempotent():
    once = normalize_text(" a \n b\u00a0c ")
    assert normalize_text(once) == once


def test_text_hash_ignores_whitespace_and_normal_form():
    assert text_hash("caf\u0065\u0301  bar") == text_hash("caf\u00e9 bar")
    assert text_hash("a b") != text_hash("a c")
    assert text_hash("a b", already_normalized=True) == text_hash(" a  b ")
    assert len(text_hash("x")) == 64


@pytest.mark.parametrize(
    "text, expected",
    [
        ("write to jane.doe+billing@example.co.uk today", "write to <EMAIL> today"),
        ("call +1 (555) 123-4567 now", "call <PHONE> now"),
        ("call 555-123-4567 now", "call <PHONE> now"),
        ("call (555) 123-4567", "call <PHONE>"),
        ("ring 020 7946 0958 please", "ring <PHONE> please"),
        ("ring +44 20 7946 0958", "ring <PHONE>"),
        ("card 4111 1111 1111 1111 was charged", "card <CARD> was charged"),
        ("card 4111-1111-1111-1111", "card <CARD>"),
        ("card 4111111111111111", "card <CARD>"),
        ("amex 3782 822463 10005", "amex <CARD>"),
    ],
)
def test_pii_is_masked(text, expected):
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 fails Luhn",  # not a valid card number
        "order 12345678 shipped on 2024-01-31 at 06:33:37",
        "version 4.28.0-035a41c4e, 12.50 EUR, 1000 items, ip 192.168.1.1",
        "no at-sign user@localhost",
    ],
)
def test_non_pii_is_kept(text):
    assert mask_pii(text) == text


def test_luhn():
    assert luhn_valid("4111111111111111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
