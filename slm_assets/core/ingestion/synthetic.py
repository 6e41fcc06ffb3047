"""Synthetic production logs of a customer-support request router.

``write_logs(path, rows, seed)`` writes JSON Lines, one request per line, with
the fields ``request_id, timestamp, customer_id, channel, product, difficulty,
language, text, intent``. It is deterministic per seed and streams: only a
bounded window of recent rows is remembered (for repeats and near-duplicates),
so a million rows need no more memory than twenty thousand.

What makes the logs realistic (shares are per written line, approximate):
- 10 intents over 4 product domains and 4 channels; difficulty ``easy`` (the
  intent's keywords), ``medium`` (more context) and ``hard`` (indirect phrasing);
- timestamps across about six months, mostly in order, ISO 8601 with ``Z``;
- customers who come back (``customer_id`` recurs);
- about a third of the rows carry the human-labelled ``intent``, the rest ``null``;
- exact repeats (the same line logged twice by a retrying client), customers
  re-sending a request with small edits (near-duplicates, new id), long inputs
  (pasted logs, signatures), non-English requests, PII (e-mails, phones, card
  numbers with a valid checksum), and about 1 % malformed lines: truncated JSON,
  missing text, wrong type, unparsable timestamp, timestamp without zone.

Longer than the project's ~350 lines because some 200 of them are the phrase tables
(intents x products x difficulty); the generator itself is the last 200.

Over 350 lines on purpose: most of it is data (intents, phrasings, typo and PII tables) that
only reads well next to the generator that samples it.
"""

import json
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from slm_assets.core.io import atomic_write

INTENTS = (
    "billing_refund",
    "billing_invoice",
    "login_problem",
    "password_reset",
    "order_status",
    "change_address",
    "cancel_order",
    "bug_report",
    "upgrade_plan",
    "cancel_subscription",
)
CHANNELS = ("email", "chat", "phone_transcript", "web_form")
DIFFICULTIES = ("easy", "medium", "hard")
START = datetime(2025, 1, 6, tzinfo=timezone.utc)
SPAN = timedelta(days=182)
_START_EPOCH = START.timestamp()
_SPAN_SECONDS = SPAN.total_seconds()

# Shares of written lines (the rest are fresh, well-formed requests).
EXACT_REPEAT_SHARE = 0.02
NEAR_DUPLICATE_SHARE = 0.04
MALFORMED_SHARE = 0.01
LABELLED_SHARE = 1 / 3
NON_ENGLISH_SHARE = 0.04
LONG_SHARE = 0.02
PII_SHARE = 0.06
_WINDOW = 500  # recent rows remembered for repeats and re-sends

PRODUCTS: dict[str, dict[str, str]] = {
    "payments": {"name": "PayFlow wallet", "item": "card order", "plan": "Business tier", "feature": "transfer screen"},
    "shop": {"name": "the online shop", "item": "order", "plan": "Prime membership", "feature": "checkout page"},
    "cloud": {"name": "the cloud console", "item": "hardware order", "plan": "Enterprise plan", "feature": "deploy button"},
    "mobile_app": {"name": "the mobile app", "item": "in-app order", "plan": "Premium plan", "feature": "home screen"},
}

# {name} product, {item} what was ordered, {plan} paid plan, {feature} a UI part,
# {ref} an order/invoice reference, {amount} money, {month} a month name.
TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "billing_refund": {
        "easy": (
            "I want a refund for {ref}.",
            "Please refund my payment of {amount}.",
            "Refund request for {ref}, I was charged twice.",
            "Can I get my money back for {ref}? Requesting a refund.",
        ),
        "medium": (
            "I was billed {amount} twice this month on {name}, please give me a refund for the duplicate charge.",
            "I returned the {item} {ref} two weeks ago and still no refund of {amount}.",
            "The charge of {amount} was a mistake, I never used {name}. I'd like it refunded.",
        ),
        "hard": (
            "The {amount} you took for something I sent back still hasn't come back to my account.",
            "My bank statement shows you took {amount} twice. I only bought it once. Fix this and return what's mine.",
            "I cancelled within the trial but {amount} still left my card. I expect to see it back.",
        ),
    },
    "billing_invoice": {
        "easy": (
            "Please send me the invoice for {ref}.",
            "I need a copy of my invoice for {month}.",
            "Where can I download my invoices?",
            "Invoice request: {ref}.",
        ),
        "medium": (
            "Our accounting team needs a VAT invoice for the {amount} payment on {name}.",
            "The invoice for {month} shows the wrong company name, can you reissue the invoice?",
            "I can't find the billing statement / invoice PDF for {ref} in my account.",
        ),
        "hard": (
            "Our bookkeeper is asking for the paperwork behind the {amount} you charged in {month}.",
            "For tax purposes I need an official document listing what we paid you in {month}.",
            "The receipt you emailed has our old company address on it; finance won't accept it.",
        ),
    },
    "login_problem": {
        "easy": (
            "I can't log in to {name}.",
            "Login not working, it says my account is locked.",
            "I cannot sign in since this morning.",
            "Log in fails with an error every time.",
        ),
        "medium": (
            "When I try to sign in to {name} the page just reloads and I stay logged out.",
            "Two-factor code never arrives so I can't log in to my account.",
            "My account got locked after the update and the login page shows 'access denied'.",
        ),
        "hard": (
            "I type everything correctly and {name} keeps bouncing me back to the start, I haven't been able to get in since {month}.",
            "The verification code text never shows up on my phone, so I'm stuck outside my account.",
            "Since I switched phones, {name} doesn't recognise me any more and won't let me through.",
        ),
    },
    "password_reset": {
        "easy": (
            "I forgot my password.",
            "Please reset my password.",
            "How do I change my password?",
            "Password reset link needed.",
        ),
        "medium": (
            "The password reset email for {name} never arrives, can you send the reset link again?",
            "I need to reset my password but the reset link says it has expired.",
            "I want to set a new password for my account, the old one was leaked.",
        ),
        "hard": (
            "I can't remember the secret word I picked when I signed up for {name} and I need a new one.",
            "The link to choose new credentials expired before I could click it, send another please.",
            "Someone might know my current credentials, I want to pick different ones right away.",
        ),
    },
    "order_status": {
        "easy": (
            "Where is my order {ref}?",
            "What is the status of my order {ref}?",
            "Order {ref} tracking please.",
            "Has my order shipped yet?",
        ),
        "medium": (
            "My {item} {ref} was supposed to arrive on Monday but tracking hasn't updated, where is it?",
            "Can you check the delivery status of {ref}? It has said 'processing' for a week.",
            "I ordered on {month} 3rd and the parcel still hasn't shipped, what's going on?",
        ),
        "hard": (
            "It's been ten days since I paid for {ref} and my doorstep is still empty.",
            "The courier website has shown the same line since Tuesday for my package, any news?",
            "I'm leaving on holiday on Friday; will the thing I bought get here before then?",
        ),
    },
    "change_address": {
        "easy": (
            "Please change my delivery address for {ref}.",
            "I need to update my shipping address.",
            "Change address on my account please.",
            "New address for order {ref}.",
        ),
        "medium": (
            "I moved last week, please update the shipping address on {ref} before it ships.",
            "The delivery address on my {item} is wrong, can you change it to my office?",
            "How do I edit the billing and shipping address saved in {name}?",
        ),
        "hard": (
            "I don't live at the old place any more, so {ref} needs to go to my new flat instead.",
            "Could the parcel for {ref} be sent to my parents' house rather than mine?",
            "We relocated the office in {month}; everything from now on should go to the new building.",
        ),
    },
    "cancel_order": {
        "easy": (
            "Cancel my order {ref}.",
            "Please cancel order {ref}.",
            "I want to cancel my order.",
            "Order cancellation request for {ref}.",
        ),
        "medium": (
            "I ordered the wrong size, please cancel {ref} before it ships.",
            "Can you cancel the {item} I placed this morning? I found it cheaper elsewhere.",
            "I placed {ref} twice by mistake, please cancel one of the orders.",
        ),
        "hard": (
            "I changed my mind about what I bought an hour ago, please stop it from being sent.",
            "Don't send {ref}, I no longer need it and don't want to deal with a return.",
            "My partner already bought the same thing, so the purchase I made today should not go ahead.",
        ),
    },
    "bug_report": {
        "easy": (
            "The {feature} crashes.",
            "Bug: {name} shows an error when I click the {feature}.",
            "The app is broken, it crashes on start.",
            "Found a bug in the {feature}.",
        ),
        "medium": (
            "Since the last update the {feature} in {name} freezes and shows error 500.",
            "When I open the {feature} the page goes blank, I think it's a bug in the new version.",
            "The {feature} shows the wrong total, it adds tax twice. Looks like a bug.",
        ),
        "hard": (
            "Whenever I tap the {feature} everything just goes white and I have to start over.",
            "Something changed in {month}: the numbers on the {feature} no longer add up.",
            "{name} quits by itself every time I rotate my phone on the {feature}.",
        ),
    },
    "upgrade_plan": {
        "easy": (
            "I want to upgrade to the {plan}.",
            "How do I upgrade my plan?",
            "Upgrade my account to {plan} please.",
            "Please upgrade us to a bigger plan.",
        ),
        "medium": (
            "Our team is growing, we need to upgrade from the basic plan to the {plan} on {name}.",
            "What does it cost to upgrade to the {plan}, and can I switch mid-month?",
            "We hit the usage limit, please move us up to the {plan}.",
        ),
        "hard": (
            "We keep running out of room on {name}; what's the next tier up and how do we get it?",
            "Five more colleagues are joining in {month}, we need more seats than we have now.",
            "The features in the {plan} look useful, I'd like to have them starting today.",
        ),
    },
    "cancel_subscription": {
        "easy": (
            "Cancel my subscription.",
            "I want to cancel my {plan} subscription.",
            "Please stop my subscription.",
            "How do I unsubscribe from {name}?",
        ),
        "medium": (
            "Please cancel my {plan} subscription at the end of this billing period.",
            "I no longer use {name}, cancel the monthly subscription and stop renewing it.",
            "Cancel the auto-renewal of my membership, I don't want to be charged in {month}.",
        ),
        "hard": (
            "I don't want {name} to take money from me every month any more, end it.",
            "We're moving to another provider, so please make sure there is no renewal next cycle.",
            "Close out my plan, I won't be needing the service after {month}.",
        ),
    },
}

# Non-English requests: short, direct phrasings per intent (es, de, fr).
FOREIGN: dict[str, dict[str, str]] = {
    "billing_refund": {"es": "Quiero un reembolso de {ref}, me cobraron dos veces.", "de": "Ich möchte eine Rückerstattung für {ref}.", "fr": "Je veux un remboursement pour {ref}."},
    "billing_invoice": {"es": "Necesito la factura de {month}.", "de": "Bitte senden Sie mir die Rechnung für {ref}.", "fr": "J'ai besoin de la facture pour {ref}."},
    "login_problem": {"es": "No puedo iniciar sesión en mi cuenta.", "de": "Ich kann mich nicht anmelden, das Konto ist gesperrt.", "fr": "Je n'arrive pas à me connecter à mon compte."},
    "password_reset": {"es": "Olvidé mi contraseña, quiero restablecerla.", "de": "Ich habe mein Passwort vergessen, bitte zurücksetzen.", "fr": "J'ai oublié mon mot de passe, réinitialisation svp."},
    "order_status": {"es": "¿Dónde está mi pedido {ref}?", "de": "Wo ist meine Bestellung {ref}?", "fr": "Où en est ma commande {ref} ?"},
    "change_address": {"es": "Quiero cambiar la dirección de envío de {ref}.", "de": "Bitte ändern Sie die Lieferadresse für {ref}.", "fr": "Je veux changer l'adresse de livraison de {ref}."},
    "cancel_order": {"es": "Quiero cancelar el pedido {ref}.", "de": "Bitte stornieren Sie die Bestellung {ref}.", "fr": "Je veux annuler la commande {ref}."},
    "bug_report": {"es": "La aplicación se cierra sola, hay un error.", "de": "Die App stürzt ab, das ist ein Fehler.", "fr": "L'application plante, il y a un bug."},
    "upgrade_plan": {"es": "Quiero mejorar mi plan al {plan}.", "de": "Ich möchte auf den {plan} upgraden.", "fr": "Je voudrais passer au {plan}."},
    "cancel_subscription": {"es": "Quiero cancelar mi suscripción.", "de": "Bitte kündigen Sie mein Abonnement.", "fr": "Je veux résilier mon abonnement."},
}

_PRODUCT_NAMES = tuple(PRODUCTS)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August")
_NAMES = ("Alex", "Maria", "Sam", "Priya", "Tom", "Li Wei", "Fatima", "Jonas", "Chloé", "Diego")
_LOG_LINES = (
    "ERROR [main] com.example.api.Client - request failed: HTTP 503 Service Unavailable",
    "WARN  retrying in 2000 ms (attempt {n} of 5)",
    "  at com.example.checkout.PaymentService.submit(PaymentService.java:{n})",
    "  at okhttp3.internal.http.RetryAndFollowUpInterceptor.intercept(RetryAndFollowUpInterceptor.kt:{n})",
    "DEBUG session={n} user-agent=Mozilla/5.0 (Linux; Android 14) build=7.{n}.2",
)
_DISCLAIMER = (
    "CONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and intended solely "
    "for the addressee. If you have received it in error, please notify the sender and delete it. "
)


def _card_number(rng: random.Random) -> str:
    """A 16-digit number starting with 4 and a valid Luhn check digit, grouped by four."""
    body = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(body)):  # the check digit will sit at position 0 from the right
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    digits = "".join(map(str, body)) + str((10 - total % 10) % 10)
    return " ".join(digits[i : i + 4] for i in range(0, 16, 4))


def _pii(rng: random.Random, name: str) -> str:
    kind = rng.randrange(3)
    if kind == 0:
        return f"You can reach me at {name.split()[0].lower()}.{rng.randrange(100, 999)}@example.com."
    if kind == 1:
        return f"My phone is +1 555-{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}."
    return f"The card I used is {_card_number(rng)}."


def _long_tail(rng: random.Random, name: str) -> str:
    if rng.random() < 0.5:
        lines = [rng.choice(_LOG_LINES).format(n=rng.randrange(10, 999)) for _ in range(rng.randint(40, 120))]
        return "\nHere is what the app logged:\n" + "\n".join(lines)
    return f"\n\n--\n{name}\nSenior Buyer, Example Trading Ltd.\n" + _DISCLAIMER * rng.randint(10, 30)


def _wrap(rng: random.Random, channel: str, body: str, name: str) -> str:
    if channel == "email":
        greeting = rng.choice(("Hello,", "Hi team,", "Dear support,", "Good morning,"))
        return f"{greeting}\n\n{body}\n\n{rng.choice(('Thanks', 'Best regards', 'Cheers'))},\n{name}"
    if channel == "chat":
        return body.lower() if rng.random() < 0.5 else body
    if channel == "phone_transcript":
        return f"Agent: Thanks for calling, how can I help?\nCustomer: {body}\nAgent: Let me look into that."
    return f"Subject: {body.split('.')[0][:60]}\nMessage: {body}"


def _near_duplicate(rng: random.Random, text: str) -> str:
    """The same request re-sent with a small edit."""
    edit = rng.randrange(4)
    if edit == 0:
        return "Following up: " + text
    if edit == 1:
        return text + rng.choice((" Any update?", " Please hurry.", " Thanks!"))
    if edit == 2:
        words = text.split(" ")
        i = rng.randrange(len(words))
        if len(words[i]) > 3:  # swap two letters: a typo
            w = words[i]
            j = rng.randrange(len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        return " ".join(words)
    return text.replace(".", "!", 1) if "." in text else text + "!"


def _malformed(rng: random.Random, row: dict[str, Any]) -> tuple[str, str]:
    """A broken line of one of several kinds; returns (kind, line)."""
    kind = rng.choice(("truncated_json", "missing_text", "wrong_type", "bad_timestamp", "naive_timestamp"))
    row = dict(row)
    if kind == "truncated_json":
        line = json.dumps(row, ensure_ascii=False)
        return kind, line[: rng.randrange(5, len(line) - 2)]
    if kind == "missing_text":
        del row["text"]
    elif kind == "wrong_type":
        row["text"] = rng.choice(([row["text"]], rng.randrange(10**6), {"body": row["text"]}))
    elif kind == "bad_timestamp":
        row["timestamp"] = rng.choice(("yesterday 5pm", "2025-13-45T99:00:00Z", "not a date", ""))
    else:
        row["timestamp"] = row["timestamp"].rstrip("Z")
    return kind, json.dumps(row, ensure_ascii=False)


class _Generator:
    def __init__(self, rows: int, seed: int):
        self.rng = random.Random(seed)
        self.rows = rows
        self.customers = max(20, rows // 6)
        self.recent: deque[dict[str, Any]] = deque(maxlen=_WINDOW)
        self.recent_lines: deque[str] = deque(maxlen=_WINDOW)
        # Seed-derived, so files generated with different seeds never share a request id.
        self.id_prefix = f"req-{self.rng.getrandbits(24):06x}-"

    def pick(self, seq: Sequence[Any]) -> Any:
        # random.choice is several times slower; this keeps 10^6 rows in seconds, not minutes.
        return seq[int(self.rng.random() * len(seq))]

    def timestamp(self, i: int) -> str:
        at = _START_EPOCH + _SPAN_SECONDS * i / max(self.rows, 1) + (self.rng.random() - 0.5) * 7200
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))

    def fresh(self, i: int) -> tuple[dict[str, Any], set[str]]:
        rng, pick = self.rng, self.pick
        traits: set[str] = set()
        intent = pick(INTENTS)
        product = pick(_PRODUCT_NAMES)
        channel = pick(CHANNELS)
        draw = rng.random()
        difficulty = DIFFICULTIES[0 if draw < 0.5 else 1 if draw < 0.8 else 2]  # 50 / 30 / 20 %
        name = pick(_NAMES)
        fill = {
            **PRODUCTS[product],
            "ref": f"#{1_000_000 + int(rng.random() * 9_000_000)}",
            "amount": f"${5 + int(rng.random() * 495)}.{int(rng.random() * 100):02d}",
            "month": pick(_MONTHS),
        }
        language = "en"
        if rng.random() < NON_ENGLISH_SHARE:
            language = pick(("es", "de", "fr"))
            body = FOREIGN[intent][language].format(**fill)
            traits.add("non_english")
        else:
            body = pick(TEMPLATES[intent][difficulty]).format(**fill)
            if rng.random() < PII_SHARE:
                body += " " + _pii(rng, name)
                traits.add("pii")
        text = _wrap(rng, channel, body, name)
        if rng.random() < LONG_SHARE:
            text += _long_tail(rng, name)
            traits.add("long")
        row = {
            "request_id": f"{self.id_prefix}{i:08d}",
            "timestamp": self.timestamp(i),
            # Squaring skews the draw: a few customers write often, most rarely.
            "customer_id": f"cust-{int(self.customers * rng.random() ** 2):06d}",
            "channel": channel,
            "product": product,
            "difficulty": difficulty,
            "language": language,
            "text": text,
            "intent": intent if rng.random() < LABELLED_SHARE else None,
        }
        return row, traits

    def line(self, i: int) -> tuple[str, set[str]]:
        rng = self.rng
        draw = rng.random()
        if self.recent and draw < EXACT_REPEAT_SHARE:
            return self.pick(self.recent_lines), {"exact_repeat"}
        if self.recent and draw < EXACT_REPEAT_SHARE + NEAR_DUPLICATE_SHARE:
            row = dict(self.pick(self.recent))
            row.update(request_id=f"{self.id_prefix}{i:08d}", timestamp=self.timestamp(i), text=_near_duplicate(rng, row["text"]))
            traits = {"near_duplicate"}
        else:
            row, traits = self.fresh(i)
        if rng.random() < MALFORMED_SHARE:
            kind, line = _malformed(rng, row)
            return line, {"malformed", f"malformed_{kind}"}
        line = json.dumps(row, ensure_ascii=False)
        self.recent.append(row)
        self.recent_lines.append(line)
        if row["intent"] is not None:
            traits.add("labelled")
        return line, traits


def generate_lines(rows: int, seed: int) -> Iterator[tuple[str, set[str]]]:
    """Yield ``(json_line, traits)`` for ``rows`` lines; the same seed gives the same lines."""
    gen = _Generator(rows, seed)
    for i in range(rows):
        yield gen.line(i)


def _write(fh: TextIO, rows: int, seed: int, progress: Callable[[int], None] | None) -> dict[str, int]:
    counts: dict[str, int] = {"rows": 0}
    for n, (line, traits) in enumerate(generate_lines(rows, seed), start=1):
        fh.write(line)
        fh.write("\n")
        counts["rows"] += 1
        for trait in traits:
            counts[trait] = counts.get(trait, 0) + 1
        if progress is not None and n % 100_000 == 0:
            progress(n)
    return counts


def write_logs(
    path: str | Path, rows: int, seed: int = 0, progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Write ``rows`` JSONL lines to ``path`` (atomically); return counts of what was planted."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    counts: dict[str, int] = {}

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            counts.update(_write(fh, rows, seed, progress))

    atomic_write(path, write)
    return {"path": str(path), "seed": seed, **dict(sorted(counts.items()))}
