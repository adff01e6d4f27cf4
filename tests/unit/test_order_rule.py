"""The cycle's order rule (``cycle.order_levels``): a service level per SKU from its
margin and holding cost, a cap by shelf life for perishables, the policy's overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_agent.cycle import order_cases, order_levels
from edge_agent.errors import ConfigError
from edge_agent.policy import Policy, ServiceLevel, load_policy
from models import features as F


def _features(n: int, *, expected: float, std: float, closed: float = 0.0) -> np.ndarray:
    """Protection rows with the columns the rule reads set (the model's P90 is given)."""
    rows = np.zeros((n, len(F.PROTECTION_FEATURES)), dtype=np.float32)
    names = F.PROTECTION_FEATURES
    rows[:, names.index("expected_total")] = expected
    rows[:, names.index("std_28")] = std
    rows[:, names.index("closed_days")] = closed
    return rows


def _levels(settings: ServiceLevel | None = None, **items):
    """Two or more SKUs over a 4-day protection interval (lead 2), 10 units a day."""
    n = len(items["price"])
    defaults = {"unit_cost": [1.0] * n, "shelf_life": [0] * n, "lead_time": [2] * n,
                "protection": [4] * n, "categories": ["canned"] * n}  # fmt: skip
    args = {k: np.asarray(v) if k != "categories" else v for k, v in (defaults | items).items()}
    return order_levels(_features(n, expected=40.0, std=3.0), np.full(n, 45.0),
                        settings=settings or ServiceLevel(), **args)  # fmt: skip


def test_a_high_margin_item_gets_a_higher_level_than_a_low_margin_one() -> None:
    levels = _levels(price=[2.0, 1.01])  # cost 1.00: margin 1.00 vs 0.01
    high, low = levels.service_level
    assert high > low
    assert levels.order_up_to[0] > levels.order_up_to[1]
    # margin / (margin + holding over the 2-day review: 1.00 x 0.25 x 2 / 365)
    holding = 0.25 * 2 / 365
    assert high == pytest.approx(0.95)  # 0.9986, kept within the policy's max
    assert low == pytest.approx(0.01 / (0.01 + holding))
    assert list(levels.level_source) == ["newsvendor", "newsvendor"]


def test_at_level_0_9_the_order_up_to_is_the_models_p90() -> None:
    settings = ServiceLevel(min=0.9, max=0.9)
    levels = _levels(settings, price=[2.0, 1.01])
    assert levels.order_up_to == pytest.approx([45.0, 45.0], abs=1e-3)
    assert not levels.capped.any() and np.isnan(levels.shelf_life_cap).all()
    # Above 0.9 the level adds normal spreads of the interval's total: std 3 x sqrt(4).
    higher = _levels(ServiceLevel(min=0.95, max=0.95), price=[2.0])
    assert higher.order_up_to[0] == pytest.approx(45.0 + (1.6449 - 1.2816) * 6.0, abs=1e-2)


def test_a_short_lived_perishable_is_capped_by_what_sells_before_it_expires() -> None:
    # 10 units a day; lead 2 + shelf life 1 day: about 30 units sell before expiry.
    # Cost 1.00, prices 2.00 and 4.00: a unit that expires loses 1.00, one that sells
    # earns 1.00 or 3.00, so the cap sits at the 0.5 and the 0.75 quantile (newsvendor).
    levels = _levels(price=[2.0, 4.0, 2.0], shelf_life=[1, 1, 0])
    fresh, richer, stable = 0, 1, 2
    assert levels.capped[fresh] and levels.capped[richer] and not levels.capped[stable]
    assert levels.cap_quantile[:2] == pytest.approx([0.5, 0.75])
    assert levels.shelf_life_cap[fresh] == pytest.approx(30.0, abs=1e-2)  # the median
    cap = 30.0 + 0.6745 * 3.0 * np.sqrt(3)  # the 0.75 quantile of 3 days of demand
    assert levels.shelf_life_cap[richer] == pytest.approx(cap, abs=1e-2)
    assert levels.order_up_to[:2] == pytest.approx([30.0, cap], abs=1e-2)
    assert levels.order_up_to[stable] > 45.0
    assert np.isnan(levels.shelf_life_cap[stable]) and np.isnan(levels.cap_quantile[stable])
    # Without a price the cap takes shelf_life_unknown_margin; a fixed quantile applies
    # to every SKU whatever its margin.
    unknown = _levels(price=[0.0], shelf_life=[1])
    assert unknown.cap_quantile[0] == pytest.approx(0.75)
    fixed = _levels(ServiceLevel(shelf_life_quantile=0.9), price=[2.0, 4.0], shelf_life=[1, 1])
    assert fixed.cap_quantile == pytest.approx([0.9, 0.9])
    assert fixed.shelf_life_cap == pytest.approx([30.0 + 1.2816 * 3.0 * np.sqrt(3)] * 2, abs=1e-2)
    # A long shelf life leaves the level alone; the cap can be switched off.
    assert not _levels(price=[2.0], shelf_life=[30]).capped.any()
    off = _levels(ServiceLevel(shelf_life_cap=False), price=[2.0], shelf_life=[1])
    assert not off.capped.any() and off.order_up_to[0] > 45.0


def test_the_policys_category_level_wins_and_unknown_margins_get_the_default() -> None:
    settings = ServiceLevel(categories={"bread": 0.6})
    levels = _levels(settings, price=[2.0, 2.0, 0.0], categories=["bread", "canned", "canned"])
    assert levels.service_level == pytest.approx([0.6, 0.95, 0.9])
    assert list(levels.level_source) == ["category", "newsvendor", "unknown_margin"]
    assert levels.order_up_to[0] < 45.0  # below the P90: a lower level than 0.9


def test_order_cases_round_up_to_whole_cases() -> None:
    cases = order_cases(np.array([10.0, 10.0, 12.0, 3.0]), np.array([0.0, 10.0, 0.0, 5.0]),
                        np.array([6.0, 6.0, 6.0, 1.0]))  # fmt: skip
    assert cases.tolist() == [2, 0, 2, 0]


def test_the_service_level_table_loads_from_the_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[service_level]\nmax = 0.99\nholding_rate = 0.3\n"
                    "[service_level.categories]\nmilk = 0.97\n")  # fmt: skip
    policy = load_policy(path)
    assert policy.service_level.max == 0.99 and policy.service_level.categories == {"milk": 0.97}
    assert policy.hash != Policy().hash


# One message for both branches of the setting's union, not one per branch.
_NEWSVENDOR_OR_QUANTILE = (
    r'service_level\.shelf_life_quantile: Value error, "newsvendor" or a number between 0 and 1 '
    r"\(exclusive\), not "
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[service_level]\nmax = 1.5", r"service_level\.max"),
        ("[service_level]\nmin = 0.9\nmax = 0.8", r"service_level: .*max 0.8 is below min 0.9"),
        ("[service_level.categories]\nmilk = 2.0", r"service_level\.categories\.milk"),
        ("[service_level]\nshelf_life_quantile = 0", _NEWSVENDOR_OR_QUANTILE + r"0 \(hint"),
        (
            "[service_level]\nshelf_life_quantile = 'median'",
            _NEWSVENDOR_OR_QUANTILE + r"'median' \(hint",
        ),
        ("[service_level]\nholding = 0.2", r"service_level\.holding"),
    ],
)
def test_bad_service_levels_name_the_key(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_policy(path)
