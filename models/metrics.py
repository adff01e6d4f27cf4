"""Forecast and classification metrics as pure numpy functions.

Conventions shared by every function here:

* Inputs are array-likes converted with ``np.asarray(..., dtype=float)``. Forecast arrays are
  shaped ``(n_series, n_days)`` unless a docstring says otherwise; the element-wise metrics
  accept any shape as long as the paired arrays have the same one.
* NaN in ``actual`` (or ``labels``) means "not observed" (store closed, item not listed): the
  cell is dropped from the metric together with the matching forecast / score entry.
* A NaN forecast or score in an *observed* cell is an error (ValueError naming the argument),
  as is any shape mismatch.
* A metric whose denominator is empty or zero returns NaN unless its docstring says otherwise.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "auc_pr",
    "best_f1_threshold",
    "bias",
    "coverage",
    "mean_ci95",
    "pinball",
    "precision_recall_f1",
    "rmsse",
    "rmsse_per_series",
    "t975",
    "wape",
]


def _as_float(name: str, value: object) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None


def _same_shape(ref_name: str, ref: np.ndarray, name: str, other: np.ndarray) -> None:
    if other.shape != ref.shape:
        raise ValueError(f"{name} has shape {other.shape}, expected {ref.shape} (as {ref_name})")


def _observed_pairs(
    actual_name: str, actual: object, other_name: str, other: object
) -> tuple[np.ndarray, np.ndarray]:
    """Flattened (actual, other) values at the cells where ``actual`` is observed."""
    a = _as_float(actual_name, actual)
    o = _as_float(other_name, other)
    _same_shape(actual_name, a, other_name, o)
    mask = ~np.isnan(a)
    a, o = a[mask], o[mask]
    if np.isnan(o).any():
        raise ValueError(f"{other_name} has NaN where {actual_name} is observed")
    return a, o


def _binary_labels(labels: np.ndarray, name: str = "labels") -> np.ndarray:
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError(f"{name} must contain only 0, 1 (or NaN for unobserved)")
    return labels.astype(bool)


def wape(actual: object, forecast: object) -> float:
    """Weighted absolute percentage error.

    ``sum |a - f| / sum |a|`` over the observed cells; NaN if ``sum |a| == 0`` (including when
    nothing is observed).
    """
    a, f = _observed_pairs("actual", actual, "forecast", forecast)
    denom = np.abs(a).sum()
    if denom == 0:
        return float("nan")
    return float(np.abs(a - f).sum() / denom)


def bias(actual: object, forecast: object) -> float:
    """Relative bias ``(sum f - sum a) / sum a`` over the observed cells.

    Positive means over-forecast. NaN if ``sum a == 0``.
    """
    a, f = _observed_pairs("actual", actual, "forecast", forecast)
    denom = a.sum()
    if denom == 0:
        return float("nan")
    return float((f.sum() - denom) / denom)


def rmsse_per_series(actual: object, forecast: object, history: object) -> np.ndarray:
    """Root mean squared scaled error per series (M5 definition), shape ``(n_series,)``.

    ``actual`` and ``forecast`` are ``(n_series, horizon)``, ``history`` is
    ``(n_series, n_history_days)`` (the training part, in time order).

    * ``scale_i = mean_t (h[i, t] - h[i, t-1])**2`` over the pairs with ``t-1 >= s_i`` where
      ``s_i`` is the index of the first non-zero observed value of ``history[i]`` (leading zeros
      and NaN before a product's first sale are dropped, as in M5); pairs with a NaN on either
      side are ignored.
    * ``RMSSE_i = sqrt(mean_t (a[i, t] - f[i, t])**2 / scale_i)`` over the observed ``t``.

    NaN for a series that is excluded: scale 0 or undefined (no non-zero history, no valid pair)
    or no observed actual.
    """
    a = _as_float("actual", actual)
    f = _as_float("forecast", forecast)
    h = _as_float("history", history)
    if a.ndim != 2:
        raise ValueError(f"actual must be 2-D (n_series, horizon), got shape {a.shape}")
    _same_shape("actual", a, "forecast", f)
    if h.ndim != 2 or h.shape[0] != a.shape[0]:
        raise ValueError(
            f"history must be 2-D with {a.shape[0]} series (as actual), got shape {h.shape}"
        )
    observed = ~np.isnan(a)
    if np.isnan(f[observed]).any():
        raise ValueError("forecast has NaN where actual is observed")

    n_hist = h.shape[1]
    started = np.nan_to_num(h, nan=0.0) != 0
    first = np.where(started.any(axis=1), started.argmax(axis=1), n_hist)
    diffs = h[:, 1:] - h[:, :-1]  # diffs[:, t-1] pairs (t-1, t)
    valid = ~np.isnan(diffs) & (np.arange(n_hist - 1)[None, :] >= first[:, None])
    n_pairs = valid.sum(axis=1)
    sq_diffs = np.where(valid, diffs, 0.0) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = sq_diffs.sum(axis=1) / n_pairs
        err = np.where(observed, a - f, 0.0) ** 2
        n_obs = observed.sum(axis=1)
        mse = err.sum(axis=1) / n_obs
        out = np.sqrt(mse / scale)
    keep = (n_pairs > 0) & (scale > 0) & (n_obs > 0)
    return np.where(keep, out, np.nan)


def rmsse(actual: object, forecast: object, history: object) -> float:
    """Mean of :func:`rmsse_per_series` over the series that are not excluded (unweighted).

    NaN if every series is excluded.
    """
    per_series = rmsse_per_series(actual, forecast, history)
    kept = per_series[~np.isnan(per_series)]
    return float(kept.mean()) if kept.size else float("nan")


def pinball(actual: object, quantile_forecast: object, alpha: float) -> float:
    """Mean pinball (quantile) loss at level ``alpha`` in ``[0, 1]``.

    ``mean over observed cells of max(alpha * (a - q), (alpha - 1) * (a - q))``; NaN if nothing
    is observed.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    a, q = _observed_pairs("actual", actual, "quantile_forecast", quantile_forecast)
    if a.size == 0:
        return float("nan")
    d = a - q
    return float(np.maximum(alpha * d, (alpha - 1.0) * d).mean())


def coverage(actual: object, upper: object) -> float:
    """Share of observed cells with ``a <= upper``; NaN if nothing is observed."""
    a, u = _observed_pairs("actual", actual, "upper", upper)
    if a.size == 0:
        return float("nan")
    return float((a <= u).mean())


def precision_recall_f1(
    labels: object, scores_or_predictions: object, threshold: float | None = None
) -> tuple[float, float, float]:
    """Precision, recall and F1 for binary ``labels`` in {0, 1} (NaN = unobserved, dropped).

    With ``threshold`` the prediction is ``scores >= threshold``; without it the second array
    must already be 0/1 (or bool). ``precision = tp / (tp + fp)`` and ``recall = tp / (tp + fn)``
    are 0 when their denominator is 0; ``f1 = 2 tp / (2 tp + fp + fn)`` (= 2pr / (p + r)), 0 when
    ``p + r == 0``.
    """
    y, s = _observed_pairs("labels", labels, "scores_or_predictions", scores_or_predictions)
    y = _binary_labels(y)
    if threshold is None:
        pred = _binary_labels(s, "scores_or_predictions (without threshold)")
    else:
        pred = s >= threshold
    tp = int(np.count_nonzero(y & pred))
    n_pred = int(np.count_nonzero(pred))
    n_pos = int(np.count_nonzero(y))
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_pos if n_pos else 0.0
    f1 = 2 * tp / (n_pred + n_pos) if tp else 0.0
    return float(precision), float(recall), float(f1)


def _ranked_counts(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct thresholds (descending) with ``tp`` and ``n_pred`` for ``score >= threshold``."""
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    cum_tp = np.cumsum(y[order])
    # Last index of each run of equal scores: ties form a single threshold.
    last = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])
    return s_sorted[last], cum_tp[last], last + 1


def _f1_at_thresholds(y: np.ndarray, s: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """F1 of ``s >= t`` against boolean ``y`` for each ``t`` in ``thresholds`` (O((n + m) log n)).

    Same formula and zero conventions as :func:`precision_recall_f1`. Internal helper shared
    with ``models.baselines``; inputs must already be clean (no NaN).
    """
    order = np.argsort(s, kind="stable")
    s_sorted = s[order]
    # suffix_pos[k] = positives among s_sorted[k:]
    suffix_pos = np.r_[np.cumsum(y[order][::-1])[::-1], 0]
    start = np.searchsorted(s_sorted, thresholds, side="left")
    tp = suffix_pos[start]
    n_pred = s.size - start
    n_pos = int(np.count_nonzero(y))
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(tp > 0, 2.0 * tp / (n_pred + n_pos), 0.0)
    return f1


def auc_pr(labels: object, scores: object) -> float:
    """Area under the precision-recall curve as average precision.

    ``AP = sum_n (R_n - R_{n-1}) * P_n`` over the distinct score thresholds in decreasing order
    (ties in scores are one threshold), with ``R_0 = 0`` and prediction ``score >= threshold``;
    this is sklearn's ``average_precision_score``. NaN if there is no observed positive label
    (sklearn returns 0.0 with a warning in that case).
    """
    y, s = _observed_pairs("labels", labels, "scores", scores)
    y = _binary_labels(y)
    n_pos = int(np.count_nonzero(y))
    if n_pos == 0:
        return float("nan")
    _, tp, n_pred = _ranked_counts(y, s)
    precision = tp / n_pred
    recall = tp / n_pos
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def best_f1_threshold(labels: object, scores: object) -> tuple[float, float]:
    """``(threshold, f1)`` maximising F1 of ``score >= threshold`` over the distinct scores.

    O(n log n): one sort and cumulative counts. Ties in F1 go to the *lowest* such threshold
    (the most sensitive rule, consistent with ``ZeroRunRule``'s smaller ``min_run``). With no
    observed positive every F1 is 0 and the lowest score is returned. ValueError if no label is
    observed.
    """
    y, s = _observed_pairs("labels", labels, "scores", scores)
    y = _binary_labels(y)
    if y.size == 0:
        raise ValueError("labels has no observed entries")
    thresholds, tp, n_pred = _ranked_counts(y, s)
    n_pos = int(np.count_nonzero(y))
    f1 = np.where(tp > 0, 2.0 * tp / (n_pred + n_pos), 0.0)
    # thresholds are descending: take the last index attaining the maximum (= lowest threshold).
    best = f1.size - 1 - int(np.argmax(f1[::-1]))
    return float(thresholds[best]), float(f1[best])


# Student t 97.5 % quantiles for 1..30 degrees of freedom (two-sided 95 % intervals).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip


def t975(df: float) -> float:
    """The 97.5 % Student t quantile (a fractional ``df``, as Welch's, rounds down)."""
    k = max(1, int(np.floor(df)))
    return _T975[k - 1] if k <= len(_T975) else 1.96 + 2.37 / df


def mean_ci95(values: object) -> dict[str, object]:
    """``{"mean": m, "ci95": [lo, hi]}``: the mean and its 95 % Student t interval
    (at least two values)."""
    x = _as_float("values", values)
    mean = float(x.mean())
    half = t975(x.size - 1) * float(x.std(ddof=1)) / float(np.sqrt(x.size))
    return {"mean": mean, "ci95": [mean - half, mean + half]}
