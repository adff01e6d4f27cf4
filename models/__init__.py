"""Shared feature definitions, training, ONNX export and serving, shipped bootstrap models."""

from pathlib import Path

#: The folder holding ``<name>.onnx`` and ``<name>.manifest.json`` per shipped model.
BOOTSTRAP_DIR = Path(__file__).resolve().parent / "bootstrap"

#: The models a store serves and the hub may roll out (the decision cycle's ModelSet):
#: the hub reads this list to refuse a rollout no store could apply.
SERVED_MODELS = (
    "replenishment_protection_p90",
    "replenishment_daily",
    "labor",
    "availability",
    "replenishment_protection_mean",
)
