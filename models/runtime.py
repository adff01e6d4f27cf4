"""Serving an exported model with onnxruntime (edge and hub alike; no LightGBM here)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnxruntime as ort

__all__ = ["OnnxModel"]


class OnnxModel:
    """One ONNX graph in an onnxruntime session, single-threaded by default (the edge
    box runs other work beside it)."""

    def __init__(self, model: bytes | str | Path, *, threads: int = 1) -> None:
        self._source = model if isinstance(model, bytes) else str(model)
        self._threads = threads
        self._session: ort.InferenceSession | None = self._open()
        self._on_demand = False
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise ValueError(f"expected one input tensor, the graph has {len(inputs)}")
        self.input_name = inputs[0].name
        self.n_features = inputs[0].shape[1]
        outputs = [o.name for o in self._session.get_outputs()]
        # Classifiers export (label, probabilities); regressors a single "variable".
        self.output_name = outputs[-1]
        self.is_classifier = len(outputs) == 2

    def _open(self) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        return ort.InferenceSession(
            self._source, sess_options=options, providers=["CPUExecutionProvider"]
        )

    def on_demand(self) -> OnnxModel:
        """A copy of this model that holds no session between predictions: for a model a
        process keeps but seldom runs (a session's trees cost ~10 MiB resident; the graph's
        bytes are shared, so each :meth:`predict` opens the same graph again). This model
        keeps its session. Only for a model made from bytes: a file could change under it
        between predictions."""
        if not isinstance(self._source, bytes):
            raise ValueError("on_demand needs a model made from the graph's bytes, not a path")
        twin = copy.copy(self)
        twin._on_demand, twin._session = True, None
        return twin

    def release(self) -> None:
        """Drop the session until the next :meth:`predict` opens it again: for a process
        that idles between runs (the agent between cycles; a session's trees cost up to
        ~20 MiB resident). A model made from a path keeps its session, as for
        :meth:`on_demand`."""
        if isinstance(self._source, bytes):
            self._session = None

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predictions as float64: the mean/quantile, or P(class 1) for a classifier."""
        features = np.ascontiguousarray(features, dtype=np.float32)
        if features.ndim != 2 or features.shape[1] != self.n_features:
            raise ValueError(
                f"features must be shaped (rows, {self.n_features}), got {features.shape}"
            )
        session = self._session or self._open()
        (out,) = session.run([self.output_name], {self.input_name: features})
        self._session = None if self._on_demand else session
        out = np.asarray(out, dtype=np.float64)
        if self.is_classifier:
            return out[:, 1]
        return out.reshape(-1)
