"""Shared feature definitions, training, ONNX export and serving, shipped bootstrap models."""

from pathlib import Path

#: The folder holding ``<name>.onnx`` and ``<name>.manifest.json`` per shipped model.
BOOTSTRAP_DIR = Path(__file__).resolve().parent / "bootstrap"
