"""Forecast/classification metrics and baselines: hand-computed examples and reference checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.baselines import (
    ZeroRunRule,
    flat_quantile,
    hourly_moving_average,
    hourly_seasonal_naive,
    moving_average,
    seasonal_naive,
    zero_run_lengths,
)
from models.metrics import (
    auc_pr,
    best_f1_threshold,
    bias,
    coverage,
    pinball,
    precision_recall_f1,
    rmsse,
    rmsse_per_series,
    wape,
)

NAN = np.nan

# --- forecast metrics ----------------------------------------------------------------------------

ACTUAL = np.array([[1.0, 2.0, NAN], [3.0, 0.0, 4.0]])
FORECAST = np.array([[2.0, 2.0, 100.0], [1.0, 1.0, 6.0]])  # 100 sits on an unobserved cell


def test_wape_and_bias_skip_unobserved_cells():
    # |a - f| = 1, 0, 2, 1, 2 -> 6 ; sum |a| = 10 ; sum f = 12
    assert wape(ACTUAL, FORECAST) == pytest.approx(0.6, abs=1e-15)
    assert bias(ACTUAL, FORECAST) == pytest.approx(0.2, abs=1e-15)
    assert bias(ACTUAL, ACTUAL) == 0.0
    assert wape(ACTUAL, ACTUAL) == 0.0


def test_wape_and_bias_nan_when_denominator_is_zero():
    assert math.isnan(wape([[0.0, NAN]], [[1.0, 1.0]]))
    assert math.isnan(bias([[0.0, NAN]], [[1.0, 1.0]]))
    assert math.isnan(wape([[NAN, NAN]], [[1.0, 1.0]]))


def test_forecast_metrics_reject_shape_mismatch_and_nan_forecast():
    with pytest.raises(ValueError, match="forecast"):
        wape(ACTUAL, FORECAST[:, :2])
    with pytest.raises(ValueError, match="forecast"):
        bias(ACTUAL, FORECAST.T)
    with pytest.raises(ValueError, match="forecast has NaN"):
        wape(ACTUAL, np.where(ACTUAL == 3.0, NAN, FORECAST))
    with pytest.raises(ValueError, match="quantile_forecast"):
        pinball(ACTUAL, FORECAST[0], 0.5)
    with pytest.raises(ValueError, match="upper"):
        coverage(ACTUAL, FORECAST[:1])


def test_rmsse_drops_leading_zeros_and_nan_pairs():
    history = np.array(
        [
            [0.0, 0.0, 1.0, 3.0, 2.0],  # starts selling at t=2: diffs 2, -1 -> scale 2.5
            [1.0, NAN, 2.0, 4.0, 4.0],  # only pairs (2,3), (3,4) valid: diffs 2, 0 -> scale 2
            [5.0, 5.0, 5.0, 5.0, 5.0],  # scale 0 -> excluded
            [0.0, 0.0, 0.0, NAN, 0.0],  # never sold -> excluded
            [1.0, 2.0, 3.0, 4.0, 5.0],  # nothing observed in actual -> excluded
        ]
    )
    actual = np.array([[2.0, 4.0], [NAN, 3.0], [5.0, 5.0], [0.0, 0.0], [NAN, NAN]])
    forecast = np.array([[4.0, 0.0], [9.0, 1.0], [4.0, 4.0], [1.0, 1.0], [1.0, 1.0]])
    per_series = rmsse_per_series(actual, forecast, history)
    # series 0: mse (4 + 16) / 2 = 10, scale 2.5 -> 2 (with the leading zeros the scale would
    # be 6 / 4 = 1.5 and the value sqrt(20 / 3)); series 1: mse 4, scale 2 -> sqrt(2)
    np.testing.assert_allclose(per_series[:2], [2.0, math.sqrt(2.0)], rtol=0, atol=1e-15)
    assert np.isnan(per_series[2:]).all()
    assert rmsse(actual, forecast, history) == pytest.approx((2.0 + math.sqrt(2.0)) / 2, abs=1e-15)


def test_rmsse_single_series_and_all_excluded():
    history = np.array([[NAN, 0.0, 2.0, NAN, 0.0, 4.0, 5.0]])  # pairs (4,5)=4, (5,6)=1 -> 8.5
    assert rmsse([[6.0]], [[3.0]], history) == pytest.approx(math.sqrt(9.0 / 8.5), abs=1e-15)
    assert math.isnan(rmsse([[1.0]], [[1.0]], [[0.0, 0.0, 7.0]]))  # no pair after first sale


def test_rmsse_shape_errors():
    actual = np.ones((2, 3))
    with pytest.raises(ValueError, match="forecast"):
        rmsse(actual, np.ones((2, 4)), np.ones((2, 10)))
    with pytest.raises(ValueError, match="history"):
        rmsse(actual, actual, np.ones((3, 10)))
    with pytest.raises(ValueError, match="history"):
        rmsse(actual, actual, np.ones(10))
    with pytest.raises(ValueError, match="actual"):
        rmsse_per_series(np.ones(3), np.ones(3), np.ones((1, 10)))


def test_pinball_and_coverage():
    actual = np.array([[1.0, NAN, 3.0]])
    q = np.array([[2.0, 0.0, 1.0]])
    # a - q = -1 -> 0.1 ; a - q = 2 -> 1.8 ; mean 0.95
    assert pinball(actual, q, 0.9) == pytest.approx(0.95, abs=1e-15)
    # alpha 0.5 is half the absolute error
    assert pinball(actual, q, 0.5) == pytest.approx(0.75, abs=1e-15)
    assert coverage([1.0, NAN, 3.0, 5.0], [1.0, 0.0, 2.0, 6.0]) == pytest.approx(2 / 3)
    assert math.isnan(pinball([[NAN]], [[1.0]], 0.5))
    assert math.isnan(coverage([[NAN]], [[1.0]]))
    with pytest.raises(ValueError, match="alpha"):
        pinball(actual, q, 1.5)


# --- classification metrics ----------------------------------------------------------------------


def test_precision_recall_f1_on_predictions_and_scores():
    labels = [1, 0, 1, 1, NAN, 0]
    preds = [1, 1, 0, 1, 1, 0]
    # observed: tp 2, fp 1, fn 1
    assert precision_recall_f1(labels, preds) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    scores = [0.9, 0.8, 0.3, 0.7, NAN, 0.1]  # NaN score on an unlabelled cell is fine
    assert precision_recall_f1(labels, scores, threshold=0.7) == pytest.approx((2 / 3,) * 3)
    # threshold 0.85: tp 1, fp 0, fn 2 -> p 1, r 1/3, f1 0.5
    assert precision_recall_f1(labels, scores, threshold=0.85) == pytest.approx((1.0, 1 / 3, 0.5))


def test_precision_recall_f1_zero_denominators():
    assert precision_recall_f1([1, 0, 1], [0, 0, 0]) == (0.0, 0.0, 0.0)  # nothing predicted
    assert precision_recall_f1([0, 0], [1, 0]) == (0.0, 0.0, 0.0)  # no positive label
    assert precision_recall_f1([NAN], [1]) == (0.0, 0.0, 0.0)


def test_precision_recall_f1_validation():
    with pytest.raises(ValueError, match="labels"):
        precision_recall_f1([0, 2], [0, 1])
    with pytest.raises(ValueError, match="scores_or_predictions"):
        precision_recall_f1([0, 1], [0.2, 0.7])  # scores without threshold
    with pytest.raises(ValueError, match="scores_or_predictions"):
        precision_recall_f1([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="scores_or_predictions has NaN"):
        precision_recall_f1([0, 1], [0.1, NAN], threshold=0.5)


def test_auc_pr_hand_computed_with_tie():
    # thresholds 0.9 (P 0, R 0), 0.5 (P 1/3, R 1/2), 0.2 (P 1/2, R 1): 1/2*1/3 + 1/2*1/2 = 5/12
    assert auc_pr([1, 0, 1, 0], [0.5, 0.5, 0.2, 0.9]) == pytest.approx(5 / 12, abs=1e-15)
    assert auc_pr([1, 1, 0, 0, NAN], [0.9, 0.8, 0.2, 0.1, 0.0]) == 1.0
    assert auc_pr([0, 0, 1], [0.3, 0.3, 0.3]) == pytest.approx(1 / 3, abs=1e-15)
    assert math.isnan(auc_pr([0, 0, NAN], [0.1, 0.2, 0.3]))


@pytest.mark.parametrize("seed", range(6))
def test_auc_pr_matches_sklearn(seed: int):
    average_precision_score = pytest.importorskip("sklearn.metrics").average_precision_score
    rng = np.random.default_rng(seed)
    n = 400
    labels = (rng.random(n) < 0.2 + 0.1 * seed).astype(float)
    scores = labels * 0.3 + rng.random(n)
    if seed % 2:
        scores = np.round(scores, 1)  # many ties
    labels[rng.random(n) < 0.1] = NAN
    observed = ~np.isnan(labels)
    expected = average_precision_score(labels[observed], scores[observed])
    assert auc_pr(labels, scores) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_best_f1_threshold_hand_computed():
    # t 0.9: f1 0 ; t 0.5: 2/(3+2) = 0.4 ; t 0.2: 4/(4+2) = 2/3
    assert best_f1_threshold([1, 0, 1, 0], [0.5, 0.5, 0.2, 0.9]) == pytest.approx((0.2, 2 / 3))
    # t 4 and t 1 both give F1 2/3: the lower threshold wins
    assert best_f1_threshold([1, 0, 0, 1], [4.0, 3.0, 2.0, 1.0]) == pytest.approx((1.0, 2 / 3))
    assert best_f1_threshold([0, 0, NAN], [0.4, 0.2, 0.1]) == (0.2, 0.0)
    with pytest.raises(ValueError, match="labels"):
        best_f1_threshold([NAN], [0.5])


@pytest.mark.parametrize("seed", range(6))
def test_best_f1_threshold_matches_brute_force(seed: int):
    rng = np.random.default_rng(100 + seed)
    n = 150
    labels = (rng.random(n) < 0.3).astype(float)
    scores = np.round(labels * 0.4 + rng.random(n), 1 + seed % 2)
    labels[rng.random(n) < 0.1] = NAN
    observed = ~np.isnan(labels)
    candidates = np.unique(scores[observed])
    f1s = np.array([precision_recall_f1(labels, scores, threshold=t)[2] for t in candidates])
    expected_threshold = candidates[np.flatnonzero(f1s == f1s.max())].min()
    assert best_f1_threshold(labels, scores) == (expected_threshold, f1s.max())


# --- daily baselines -----------------------------------------------------------------------------


def test_seasonal_naive_repeats_last_season():
    history = np.arange(14.0)[None, :]
    np.testing.assert_array_equal(seasonal_naive(history, 9), [[7, 8, 9, 10, 11, 12, 13, 7, 8]])
    np.testing.assert_array_equal(seasonal_naive([[1, 2, 3, 4, 5, 6]], 4, season=3), [[4, 5, 6, 4]])


def test_seasonal_naive_nan_falls_back_to_previous_season_then_zero():
    history = np.array(
        [
            [1.0, 2.0, 3.0, NAN, 5.0, NAN],  # position 0 and 2 fall back to 1 and 3
            [NAN, 2.0, 3.0, NAN, 5.0, 6.0],  # position 0 missing twice -> 0
        ]
    )
    np.testing.assert_array_equal(
        seasonal_naive(history, 4, season=3), [[1, 5, 3, 1], [0, 5, 6, 0]]
    )
    # shorter than a season: missing positions read as unobserved
    np.testing.assert_array_equal(seasonal_naive([[1.0, 2.0]], 3, season=3), [[0, 1, 2]])


def test_moving_average():
    history = np.array([[1.0, 2.0, NAN, 4.0], [NAN] * 4, [5.0, 5.0, 5.0, 9.0]])
    np.testing.assert_allclose(
        moving_average(history, 2, window=3), [[3, 3], [0, 0], [19 / 3, 19 / 3]]
    )
    np.testing.assert_allclose(moving_average(history, 1, window=28), [[7 / 3], [0], [6]])


def test_flat_quantile_uses_last_observed_days():
    np.testing.assert_allclose(flat_quantile([[1.0, 2, 3, 4, 5]], 2, q=0.5, window=3), [[4, 4]])
    history = np.array([[1.0, 2.0, NAN, 4.0, NAN, 5.0], [NAN] * 6, [NAN] * 5 + [7.0]])
    # row 0: last 3 observed days are 2, 4, 5; linear q 0.9 -> 4 + 0.8 * (5 - 4)
    np.testing.assert_allclose(flat_quantile(history, 1, q=0.9, window=3), [[4.8], [0], [7]])
    np.testing.assert_allclose(flat_quantile(history, 1, q=0.25, window=3), [[3.0], [0], [7]])
    np.testing.assert_allclose(flat_quantile(history, 1, q=0.0, window=56), [[1.0], [0], [7]])


def test_daily_baselines_validate_arguments():
    with pytest.raises(ValueError, match="history"):
        seasonal_naive(np.ones(10), 3)
    with pytest.raises(ValueError, match="horizon"):
        moving_average(np.ones((1, 10)), -1)
    with pytest.raises(ValueError, match="window"):
        flat_quantile(np.ones((1, 10)), 3, window=0)
    with pytest.raises(ValueError, match="q must"):
        flat_quantile(np.ones((1, 10)), 3, q=90)
    with pytest.raises(ValueError, match="season"):
        seasonal_naive(np.ones((1, 10)), 3, season=0)


# --- hourly baselines ----------------------------------------------------------------------------


def _hourly_history(n_days: int) -> np.ndarray:
    """Value 100 * day + hour, one store."""
    return (100.0 * np.arange(n_days)[:, None] + np.arange(24)[None, :])[None, :, :]


def test_hourly_seasonal_naive():
    history = _hourly_history(14)
    history[0, 7, 5] = NAN  # falls back to day 0 hour 5
    history[0, 8, 3] = history[0, 1, 3] = NAN  # missing both weeks -> 0
    out = hourly_seasonal_naive(history, 8)
    assert out.shape == (1, 8, 24)
    expected = _hourly_history(14)[:, [7, 8, 9, 10, 11, 12, 13, 7], :]
    expected[0, [0, 7], 5] = 5.0
    expected[0, 1, 3] = 0.0
    np.testing.assert_array_equal(out, expected)


def test_hourly_moving_average():
    history = _hourly_history(21)
    history[0, 14, 0] = NAN  # day 0 hour 0: only day 7 left -> 700
    history[0, 15, 1] = history[0, 8, 1] = NAN  # day 1 hour 1: nothing left -> 0
    out = hourly_moving_average(history, 9, weeks=2)
    weekday = np.arange(9) % 7
    expected = 100.0 * (10.5 + weekday)[None, :, None] + np.arange(24)[None, None, :]
    expected[0, [0, 7], 0] = 700.0
    expected[0, [1, 8], 1] = 0.0
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)


def test_hourly_moving_average_short_history_uses_available_weeks():
    out = hourly_moving_average(_hourly_history(10), 7, weeks=4)
    # forecast weekday w reads days 3 + w and (if >= 0) w - 4
    expected_day = [300, 400, 500, 600, (700 + 0) / 2, (800 + 100) / 2, (900 + 200) / 2]
    np.testing.assert_allclose(out[0, :, 0], expected_day)
    np.testing.assert_allclose(out[0, :, 23] - out[0, :, 0], 23.0)


def test_hourly_baselines_validate_shape():
    with pytest.raises(ValueError, match="history"):
        hourly_seasonal_naive(np.ones((1, 14, 23)), 7)
    with pytest.raises(ValueError, match="history"):
        hourly_moving_average(np.ones((14, 24)), 7)
    with pytest.raises(ValueError, match="weeks"):
        hourly_moving_average(np.ones((1, 14, 24)), 7, weeks=0)


# --- availability --------------------------------------------------------------------------------


def test_zero_run_lengths_hand_computed():
    sales = np.array([[0.0, 2.0, 0.0, NAN, 0.0, 0.0], [NAN, 0.0, 5.0, 0.0, 0.0, -1.0]])
    out = zero_run_lengths(sales)
    assert out.dtype == np.int64
    # the second row starts a fresh run although the first one ends on zeros
    np.testing.assert_array_equal(out, [[1, 0, 1, 2, 3, 4], [1, 2, 0, 1, 2, 0]])


@pytest.mark.parametrize("seed", range(4))
def test_zero_run_lengths_matches_loop(seed: int):
    rng = np.random.default_rng(seed)
    sales = rng.poisson(0.4, size=(7, 300)).astype(float)
    sales[rng.random(sales.shape) < 0.05] = NAN
    expected = np.zeros(sales.shape, dtype=int)
    for i in range(sales.shape[0]):
        run = 0
        for t in range(sales.shape[1]):
            run = 0 if sales[i, t] > 0 else run + 1
            expected[i, t] = run
    np.testing.assert_array_equal(zero_run_lengths(sales), expected)


# Natural zero runs of length 1, 2, 1 (available) and a 10-hour stock-out (labelled 1).
RULE_SALES = np.array([[1.0, 0, 1, 0, 0, 1, *[0.0] * 10, 1, 1, 0, 1]])
RULE_LABELS = np.array([[0.0, 0, 0, 0, 0, 0, *[1.0] * 10, 0, 0, 0, 0]])


def test_zero_run_rule_picks_best_min_run():
    # min_run 1: tp 10 of 14 flagged -> 20/24 ; 2: tp 9 of 10 -> 18/20 ; 3: tp 8 of 8 -> 16/18
    rule = ZeroRunRule().fit(RULE_SALES, RULE_LABELS)
    assert (rule.min_run, rule.train_f1) == (2, pytest.approx(0.9))
    predicted = rule.predict(RULE_SALES)
    assert predicted.dtype == bool
    np.testing.assert_array_equal(predicted, zero_run_lengths(RULE_SALES) >= 2)
    # unlabelled hours do not count: without the two single natural zeros min_run 1 gives
    # tp 10 of 12 flagged -> 20/22, which beats 0.9
    labels = RULE_LABELS.copy()
    labels[0, [1, 18]] = NAN
    rule = ZeroRunRule().fit(RULE_SALES, labels)
    assert (rule.min_run, rule.train_f1) == (1, pytest.approx(20 / 22))


def test_zero_run_rule_ties_and_validation():
    rule = ZeroRunRule().fit(RULE_SALES, np.zeros_like(RULE_LABELS), candidates=[5, 3, 8])
    assert (rule.min_run, rule.train_f1) == (3, 0.0)  # all F1 are 0: the smallest wins
    assert ZeroRunRule(min_run=10).predict(RULE_SALES).sum() == 1
    with pytest.raises(ValueError, match="fit"):
        ZeroRunRule().predict(RULE_SALES)
    with pytest.raises(ValueError, match="labels"):
        ZeroRunRule().fit(RULE_SALES, RULE_LABELS[:, :-1])
    with pytest.raises(ValueError, match="candidates"):
        ZeroRunRule().fit(RULE_SALES, RULE_LABELS, candidates=[])


@pytest.mark.parametrize("seed", range(3))
def test_zero_run_rule_matches_brute_force(seed: int):
    rng = np.random.default_rng(seed)
    sales = rng.poisson(0.5, size=(5, 400)).astype(float)
    sales[:, 100:130] = 0.0
    runs = zero_run_lengths(sales)
    labels = ((runs >= 4) & (rng.random(sales.shape) < 0.8)).astype(float)
    labels[rng.random(sales.shape) < 0.1] = NAN
    f1s = [precision_recall_f1(labels, runs >= m)[2] for m in range(1, 49)]
    rule = ZeroRunRule().fit(sales, labels)
    assert rule.min_run == 1 + int(np.argmax(f1s))
    assert rule.train_f1 == max(f1s)
