"""Does this account look like that customer? Pure name/handle similarity for suggested links.

No database here: ``CustomerIndex`` holds each customer's match keys (full name forms, email
name, handles on other platforms), blocked by their first three letters so an author is only
compared with customers who share a prefix; ``candidates`` scores one author against it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher

HANDLE_AGREES = 0.7  # a handle this similar to the customer's full name does not contradict it


def normalise(value: str | None) -> str:
    """Lower-case ASCII letters and digits only: 'Zoë O'Brien' -> 'zoeobrien'."""
    if not value:
        return ""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


def customer_keys(name: str | None, email: str | None, handles: list[str]) -> dict[str, tuple[str, bool]]:
    """Strings a customer's accounts tend to look like: key -> (what it came from, strong).

    Strong keys (full names, longer email names and handles) may match approximately; weak
    ones (an initial and a name, a lone first name, short strings) only exactly, because
    'maya' is close to 'mayak' for every Maya K.
    """
    keys: dict[str, tuple[str, bool]] = {}
    tokens = [normalise(t) for t in re.split(r"[\s\-_.]+", name or "") if normalise(t)]
    if len(tokens) >= 2:
        first, last = tokens[0], tokens[-1]
        for key in (first + last, last + first, "".join(tokens)):
            keys.setdefault(key, (f"name '{name}'", True))
        for key in (first[0] + last, first + last[0]):
            keys.setdefault(key, (f"name '{name}'", False))
    elif tokens:
        keys.setdefault(tokens[0], (f"name '{name}'", False))
    if email and "@" in email:
        local = normalise(email.split("@", 1)[0])
        for key in (local, local.rstrip("0123456789")):
            keys.setdefault(key, (f"email '{email}'", len(key) >= 6))
    for handle in handles:
        key = normalise(handle)
        keys[key] = (f"handle '{handle}' elsewhere", len(key) >= 5)
    return {k: v for k, v in keys.items() if len(k) >= 3}


def author_strings(handle: str | None, display_name: str | None) -> dict[str, str]:
    """An author's comparable strings (with and without trailing digits) and their origin."""
    found: dict[str, str] = {}
    for label, value in (("handle", handle), ("name", display_name)):
        key = normalise(value)
        for variant in (key, key.rstrip("0123456789")):
            if len(variant) >= 3:
                found.setdefault(variant, f"{label} '{value}'")
    return found


def handle_agrees(handle: str | None, strong_keys: list[str]) -> bool:
    """No handle, or one that looks like the customer's full name (not another person's)."""
    text = normalise(handle).rstrip("0123456789")
    if len(text) < 5 or not strong_keys:
        return True
    return max(SequenceMatcher(None, text, key).ratio() for key in strong_keys) >= HANDLE_AGREES


@dataclass
class CustomerIndex:
    """Customers' match keys, blocked by their first three letters."""

    blocks: dict[str, list[tuple[int, str, str, bool]]] = field(default_factory=lambda: defaultdict(list))
    strong: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, customer_id: int, name: str | None, email: str | None, handles: list[str]) -> None:
        for key, (why, strong) in customer_keys(name, email, handles).items():
            self.blocks[key[:3]].append((customer_id, key, why, strong))
            if strong:
                self.strong[customer_id].append(key)

    def candidates(
        self, handle: str | None, display_name: str | None, *, threshold: float, limit: int = 3
    ) -> list[tuple[int, float, str]]:
        """The best customers for an author: (customer id, similarity, evidence), best first."""
        best: dict[int, tuple[float, str]] = {}
        for text, what in author_strings(handle, display_name).items():
            # Upper bounds of ratio() that need no alignment (lengths, shared letters) rule out
            # most keys of a block; they are symmetric, so one matcher holding the author's
            # letter counts (b) serves every key (a).
            bounds = SequenceMatcher(None, "", text)
            for customer_id, key, why, strong in self.blocks.get(text[:3], []):
                if text == key and not strong:
                    # 'Diego C.' may be any Diego C.: only if the handle names nobody else
                    if not handle_agrees(handle, self.strong.get(customer_id, [])):
                        continue
                    score = 0.9
                elif text == key:
                    score = 1.0
                elif strong and len(text) >= 5:
                    bounds.set_seq1(key)
                    if bounds.real_quick_ratio() < threshold or bounds.quick_ratio() < threshold:
                        continue
                    score = SequenceMatcher(None, text, key).ratio()
                else:
                    continue
                if score >= threshold and score > best.get(customer_id, (0.0, ""))[0]:
                    best[customer_id] = (score, f"{what} ~ {why} (similarity {score:.2f})")
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
        return [(customer_id, score, evidence) for customer_id, (score, evidence) in ranked]
