"""Value tiers of customers by rCLV rank (top 5 % / next 15 % / standard / unlinked).

Tiers are relative: the top tier is the best 5 % of the customers we know, whatever the
currency or business. The cut-offs are computed once per run from the ``customers`` table and
applied by a pure function, so triage, routing, SLAs and the weekly report agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from db.models import Customer

STANDARD = "standard"
UNLINKED = "unlinked"
DEFAULT_FRACTIONS: dict[str, float] = {"top": 0.05, "high": 0.15}


@dataclass(frozen=True)
class TierCutoffs:
    """Minimum rCLV of each named tier, best tier first; anything below is ``standard``."""

    floors: tuple[tuple[str, float], ...]
    customers: int

    def as_dict(self) -> dict[str, float]:
        return dict(self.floors)


def customer_value(rclv: float | None, clv: float | None) -> float | None:
    """The value a customer is ranked by: rCLV where known, else CLV."""
    if rclv is not None:
        return float(rclv)
    if clv is not None:
        return float(clv)
    return None


def tier_cutoffs(*, session: Session, fractions: Mapping[str, float] | None = None) -> TierCutoffs:
    """Read the rCLV at each tier boundary (rank ``ceil(n x cumulative share)``) from the database.

    ``fractions`` maps tier names, best first, to their share of customers (default 5 % top,
    15 % high). Customers without any value are not ranked.
    """
    fractions = dict(fractions or DEFAULT_FRACTIONS)
    value = func.coalesce(Customer.rclv, Customer.clv)
    total = int(session.scalar(select(func.count()).where(value.is_not(None))) or 0)
    floors: list[tuple[str, float]] = []
    cumulative = 0.0
    for name, share in fractions.items():
        cumulative += share
        rank = max(1, round(total * cumulative))
        if total == 0:
            break
        floor = session.scalar(
            select(value).where(value.is_not(None)).order_by(value.desc()).offset(min(rank, total) - 1).limit(1)
        )
        if floor is None:
            break
        floors.append((name, float(floor)))
    return TierCutoffs(floors=tuple(floors), customers=total)


def tier_for(value: float | None, cutoffs: TierCutoffs, *, linked: bool = True) -> str:
    """The tier of a value: the first (best) tier whose floor it reaches; ``unlinked`` without a
    customer."""
    if not linked or value is None:
        return UNLINKED
    for name, floor in cutoffs.floors:
        if value >= floor and value > 0:
            return name
    return STANDARD
