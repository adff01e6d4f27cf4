"""Where the shipped bootstrap models live (importable without LightGBM)."""

from pathlib import Path

import models

#: The package folder holding ``<name>.onnx`` and ``<name>.manifest.json`` per model.
BOOTSTRAP_DIR = Path(models.__file__).resolve().parent / "bootstrap"
