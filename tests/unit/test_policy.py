"""The policy: auto, pending or blocked, with the rule that fired and the policy's hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.errors import ConfigError
from edge_agent.policy import Policy, load_policy

POLICY = """
mode = "execute"

[order]
auto_min_confidence = 0.8
auto_max_value = 500.0
max_value = 5000.0
min_quantity = 1.0
max_quantity = 1000.0

[order.categories.tobacco]
auto_max_value = 0.0

[staffing]
auto_max_value = 2.0
"""


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    return load_policy(path)


@pytest.mark.parametrize(
    ("quantity", "value", "confidence", "category", "outcome", "words"),
    [
        (24, 120.0, 0.9, "dairy", "auto", "confidence 0.90 >= 0.80"),
        (24, 120.0, 0.6, "dairy", "pending", "confidence 0.60 < auto_min_confidence 0.80"),
        (240, 900.0, 0.95, "dairy", "pending", "value 900.00 > auto_max_value 500.00"),
        (2400, 9000.0, 0.95, "dairy", "blocked", "value 9000.00 > max_value 5000.00"),
        (1200, 900.0, 0.95, "dairy", "blocked", "quantity 1200 > max_quantity 1000"),
        (0.5, 1.0, 0.95, "dairy", "blocked", "quantity 0.5 < min_quantity 1"),
        (
            10,
            60.0,
            0.99,
            "tobacco",
            "pending",
            "order (tobacco): value 60.00 > auto_max_value 0.00",
        ),
    ],
)
def test_orders_are_auto_pending_or_blocked_by_rule(
    policy, quantity, value, confidence, category, outcome, words
):
    verdict = policy.evaluate(
        "order", quantity=quantity, value=value, confidence=confidence, category=category
    )
    assert verdict.outcome == outcome
    assert words in verdict.rule
    assert verdict.policy_hash == policy.hash and len(policy.hash) == 64


def test_hash_changes_with_any_setting(policy, tmp_path: Path):
    path = tmp_path / "other.toml"
    path.write_text(POLICY.replace("auto_max_value = 500.0", "auto_max_value = 400.0"))
    assert load_policy(path).hash != policy.hash
    assert load_policy(None).hash == Policy().hash


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("mode = 'yolo'", "mode"),
        ("[order]\nauto_max_value = -1", "order.auto_max_value"),
        ("[order]\nauto_max_value = 900\nmax_value = 100", "max_value is below auto_max_value"),
        ("[order]\nauto_max_vlaue = 5", "order.auto_max_vlaue"),
        ("[order.categories.x]\nauto_min_confidence = 3", "category 'x'"),
        ("mode = ", "not valid TOML"),
    ],
)
def test_invalid_policies_name_the_field(tmp_path: Path, text: str, words: str):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_policy(path)


def _documented_policies() -> list[tuple[str, str]]:
    """The policy examples a user copies: docs/POLICY.md's TOML block and the module's."""
    import re
    import textwrap

    import edge_agent.policy as module

    docs = (Path(__file__).parents[2] / "docs" / "POLICY.md").read_text()
    (block,) = re.findall(r"```toml\n(.*?)```", docs, re.S)
    inline = textwrap.dedent(module.__doc__.split("::", 1)[1].split("\n\nEvery evaluation")[0])
    return [("docs/POLICY.md", block), ("edge_agent/policy.py", inline)]


@pytest.mark.parametrize(("where", "text"), _documented_policies())
def test_the_documented_policy_examples_load_with_the_real_service_level_defaults(
    tmp_path: Path, where: str, text: str
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    documented = load_policy(path).service_level
    # The examples show every service-level default (the categories are an example).
    assert documented.model_copy(update={"categories": {}}) == Policy().service_level, where
