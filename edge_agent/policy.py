"""Bounded autonomy: the policy that decides auto, pending (human approval) or blocked.

A policy is a TOML file, validated at load with errors that name the field::

    mode = "execute"              # or "shadow": record decisions, never execute them

    [order]
    auto_min_confidence = 0.8     # below: a person approves
    auto_max_value = 500.0        # above (in store currency): a person approves
    max_value = 5000.0            # above: blocked
    min_quantity = 1.0
    max_quantity = 1000.0

    [order.categories.tobacco]    # any field of a kind, per category
    auto_max_value = 0.0          # tobacco orders always need a person

    [staffing]
    auto_max_value = 2.0          # staff-hours changed without approval

    [shelf_check]
    daily_cap = 40                # checks per store and day
    random_share = 0.1            # unbiased sample that trains the availability model

    [service_level]               # what the order-up-to level aims at, per SKU
    holding_rate = 0.25           # annual cost of holding stock, share of unit cost
    min = 0.5                     # the newsvendor level is kept within [min, max]
    max = 0.95
    unknown_margin = 0.9          # the level when cost or price is unknown
    shelf_life_cap = true         # perishables: no more than sells before it expires,
    shelf_life_quantile = "newsvendor"  # this quantile of demand over lead time +
                                  # shelf life: margin / price per SKU, or a number
    shelf_life_unknown_margin = 0.75  # the quantile when cost or price is unknown

    [service_level.categories]    # a retailer's fixed level per category: wins
    milk = 0.97

Every evaluation returns the outcome, the rule that fired (readable) and the
policy's hash, which the decision and its audit record carry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from edge_agent.errors import ConfigError
from storeedge.settings import load_toml

__all__ = ["KindLimits", "Policy", "ServiceLevel", "Verdict", "load_policy"]

Kind = Literal["order", "staffing", "shelf_check"]
Outcome = Literal["auto", "pending", "blocked"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KindLimits(_Strict):
    """Limits for one decision kind (and, under ``categories``, one category of it)."""

    auto_min_confidence: float = Field(0.8, ge=0, le=1)
    auto_max_value: float = Field(500.0, ge=0)
    max_value: float | None = Field(None, ge=0, description="above: blocked")
    min_quantity: float = Field(0.0, ge=0)
    max_quantity: float | None = Field(None, ge=0, description="above: blocked")
    daily_cap: int | None = Field(None, ge=0, description="decisions of this kind a day")
    random_share: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> KindLimits:
        if self.max_value is not None and self.max_value < self.auto_max_value:
            raise ValueError("max_value is below auto_max_value")
        if self.max_quantity is not None and self.max_quantity < self.min_quantity:
            raise ValueError("max_quantity is below min_quantity")
        return self


class KindPolicy(KindLimits):
    categories: dict[str, dict[str, float | int | None]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _categories_valid(self) -> KindPolicy:
        for category in self.categories:
            try:
                self.for_category(category)
            except ValidationError as exc:
                raise ValueError(f"category {category!r}: {exc.errors()[0]['msg']}") from None
        return self

    def for_category(self, category: str | None) -> KindLimits:
        # Frozen: each category's limits are built once (a cycle asks thousands of times).
        limits = self._limits.get(category or "")
        if limits is None:
            base = self.model_dump(exclude={"categories"})
            override = self.categories.get(category or "", {})
            limits = self._limits[category or ""] = KindLimits(**(base | override))
        return limits

    @cached_property
    def _limits(self) -> dict[str, KindLimits]:
        return {}


class ServiceLevel(_Strict):
    """The order rule's target: the share of protection intervals whose demand the
    order-up-to level should cover (the cycle's ``order_levels``)."""

    holding_rate: float = Field(0.25, ge=0, le=5, description="annual, of unit cost")
    min: float = Field(0.5, gt=0, lt=1, description="lowest computed level")
    max: float = Field(0.95, gt=0, lt=1, description="highest computed level")
    unknown_margin: float = Field(0.9, gt=0, lt=1, description="level without cost or price")
    shelf_life_cap: bool = Field(True, description="perishables: no more than sells in time")
    # "newsvendor": per SKU, margin / price (a unit that sells before it expires earns its
    # margin, one that expires loses its cost); a number: that quantile for every SKU.
    shelf_life_quantile: Literal["newsvendor"] | Annotated[float, Field(gt=0, lt=1)] = Field(
        "newsvendor", description="of demand before expiry"
    )
    shelf_life_unknown_margin: float = Field(
        0.75, gt=0, lt=1, description="the cap's quantile without cost or price"
    )
    categories: dict[str, Annotated[float, Field(gt=0, lt=1)]] = Field(default_factory=dict)

    @field_validator("shelf_life_quantile", mode="wrap")
    @classmethod
    def _one_message(cls, value: object, validate: ValidatorFunctionWrapHandler) -> object:
        # The union accepts what it did; a refusal gets one message, not one per branch.
        try:
            return validate(value)
        except ValidationError:
            raise ValueError(
                f'"newsvendor" or a number between 0 and 1 (exclusive), not {value!r}'
            ) from None

    @model_validator(mode="after")
    def _ordered(self) -> ServiceLevel:
        if self.max < self.min:
            raise ValueError(f"max {self.max:g} is below min {self.min:g}")
        return self


class Policy(_Strict):
    mode: Literal["execute", "shadow"] = "execute"
    order: KindPolicy = KindPolicy(auto_min_confidence=0.6, max_value=5000.0, min_quantity=1.0)
    staffing: KindPolicy = KindPolicy(auto_max_value=2.0)
    shelf_check: KindPolicy = KindPolicy(auto_min_confidence=0.0, daily_cap=40, random_share=0.1)
    service_level: ServiceLevel = ServiceLevel()

    @cached_property  # frozen: hashed once, not per decision
    def hash(self) -> str:
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def evaluate(
        self,
        kind: Kind,
        *,
        quantity: float,
        value: float,
        confidence: float,
        category: str | None = None,
    ) -> Verdict:
        """Blocked by hard limits first, then auto if confident and small enough."""
        limits = getattr(self, kind).for_category(category)
        where = f"{kind}" + (f" ({category})" if category and category in
                             getattr(self, kind).categories else "")  # fmt: skip

        def verdict(outcome: Outcome, rule: str) -> Verdict:
            return Verdict(outcome, f"{where}: {rule}", self.hash)

        if limits.max_value is not None and value > limits.max_value:
            return verdict("blocked", f"value {value:.2f} > max_value {limits.max_value:.2f}")
        if limits.max_quantity is not None and quantity > limits.max_quantity:
            return verdict(
                "blocked", f"quantity {quantity:g} > max_quantity {limits.max_quantity:g}"
            )
        if quantity < limits.min_quantity:
            return verdict(
                "blocked", f"quantity {quantity:g} < min_quantity {limits.min_quantity:g}"
            )
        if confidence < limits.auto_min_confidence:
            return verdict(
                "pending",
                f"confidence {confidence:.2f} < auto_min_confidence "
                f"{limits.auto_min_confidence:.2f}",
            )
        if value > limits.auto_max_value:
            return verdict(
                "pending", f"value {value:.2f} > auto_max_value {limits.auto_max_value:.2f}"
            )
        return verdict(
            "auto",
            f"confidence {confidence:.2f} >= {limits.auto_min_confidence:.2f} and "
            f"value {value:.2f} <= {limits.auto_max_value:.2f}",
        )


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    rule: str
    policy_hash: str


def load_policy(path: Path | None) -> Policy:
    """The policy in ``path`` (TOML), or the built-in default when None."""
    if path is None:
        return Policy()
    return load_toml(path, Policy, what="policy", error=ConfigError,
                     hint="see the policy fields in docs/POLICY.md")  # fmt: skip
