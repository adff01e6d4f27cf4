"""Shared feature definitions, training, ONNX export and manifests (see issue: models)."""
