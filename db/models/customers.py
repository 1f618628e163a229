"""Customers from the CRM, their transactions and their accounts on each platform."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from db.types import json_column, utc_column, utcnow


class CustomerBase(SQLModel):
    crm_id: str = Field(max_length=128, unique=True, index=True)
    name: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=255, index=True)
    segment: str | None = Field(default=None, max_length=64)
    currency: str = Field(default="USD", max_length=3)


class Customer(CustomerBase, table=True):
    """A customer with their lifetime value, as imported or fitted."""

    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    clv: float | None = Field(default=None, description="expected value over the horizon")
    clv_source: str | None = Field(default=None, max_length=16, description="import | model")
    imported_clv: float | None = Field(default=None, description="the CRM's CLV, which wins over a fitted one")
    p_alive: float | None = None
    churn_risk: float | None = Field(default=None, description="1 - P(alive), where fitted")
    rclv: float | None = Field(default=None, description="CLV plus the value of the customer's voice")
    rclv_parts: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    clv_updated_at: datetime | None = Field(default=None, sa_column=utc_column())
    clv_fit_id: int | None = Field(
        default=None, foreign_key="clv_fits.id", description="the model fit the CLV/P(alive) came from"
    )
    clv_basis: dict[str, Any] | None = Field(
        default=None, sa_column=json_column(), description="what the CLV came from: file, summary (x, t_x, T), spend"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class Transaction(SQLModel, table=True):
    """One purchase, the input of the BG/NBD and Gamma-Gamma fits."""

    __tablename__ = "transactions"
    __table_args__ = (UniqueConstraint("customer_id", "occurred_at", "amount", name="uq_transactions_natural"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    occurred_at: datetime = Field(sa_column=utc_column(nullable=False, index=True))
    amount: float


class Identity(SQLModel, table=True):
    """A link between a customer and a platform account, with how it was made."""

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("customer_id", "platform", "handle", "platform_user_id", name="uq_identities_link"),
        # uq_identities_link cannot stop a second suggestion of one customer for one author when
        # the author has no handle (NULLs never collide); this can, whatever the handle.
        Index(
            "uq_identities_suggested_pair",
            "customer_id",
            "author_id",
            unique=True,
            postgresql_where=text("method = 'suggested'"),
            sqlite_where=text("method = 'suggested'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    platform: str = Field(max_length=32, index=True)
    platform_user_id: str | None = Field(default=None, max_length=128, index=True)
    handle: str | None = Field(default=None, max_length=255, index=True, description="lower-cased, without '@'")
    method: str = Field(max_length=32, description="crm_import | email_match | suggested | manual")
    status: str = Field(default="confirmed", max_length=16, description="confirmed | suggested | rejected")
    confidence: float = 1.0
    confirmed_by: str | None = Field(default=None, max_length=255, description="who confirmed or rejected it")
    author_id: int | None = Field(
        default=None, foreign_key="authors.id", index=True, description="the Author it was linked to"
    )
    evidence: str | None = Field(
        default=None, description="why it was linked or suggested (shown to the person deciding)"
    )
    decided_at: datetime | None = Field(default=None, sa_column=utc_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class AuthorMatchCheck(SQLModel, table=True):
    """An author's handle and name as ``engagebot link`` last compared them with the customers.

    Suggestions are only looked for again when the author's handle or name (or the threshold)
    differ from what is stored here, so a run costs O(new or changed authors). The row holds
    the compared values rather than a time: a late-committing collector can never slip an
    author past it.
    """

    __tablename__ = "author_match_checks"

    author_id: int = Field(primary_key=True, foreign_key="authors.id", sa_column_kwargs={"autoincrement": False})
    handle: str | None = Field(default=None, max_length=255)
    display_name: str | None = Field(default=None, max_length=255)
    threshold: float
    checked_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class CustomerMatchCheck(SQLModel, table=True):
    """A digest of a customer's match keys (name, email, CRM handles) as ``engagebot link`` last used them.

    A customer whose digest changed (or who is new) is compared with the authors already
    checked, so a CRM import reaches old authors without re-checking everyone.
    """

    __tablename__ = "customer_match_checks"

    customer_id: int = Field(primary_key=True, foreign_key="customers.id", sa_column_kwargs={"autoincrement": False})
    digest: str = Field(max_length=32)
    checked_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class ClvFit(SQLModel, table=True):
    """One fit of the CLV models (or a fallback), so every customer's value says where it came from."""

    __tablename__ = "clv_fits"

    id: int | None = Field(default=None, primary_key=True)
    method: str = Field(max_length=32, description="bgnbd+gammagamma | fallback_mean_spend")
    source: str = Field(max_length=255, description="database | the transactions file")
    calibration_end: datetime = Field(sa_column=utc_column(nullable=False))
    params: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    customers: int = 0
    repeat_customers: int = 0
    transactions: int = 0
    log_likelihood: float | None = None
    reason: str | None = Field(default=None, description="why the fallback was used, where it was")
    fitted_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False, index=True))
