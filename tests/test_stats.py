"""The statistics module: each formula against a direct computation or scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from pytest_agentv.stats import (
    cluster_of,
    clustered_standard_error,
    compare_paired,
    compare_proportions,
    estimate_mean,
    incomplete_beta,
    least_squares_slope,
    minimum_detectable_effect,
    paired_differences,
    per_test_means,
    t_cdf,
    t_quantile,
    wilson_interval,
)


@pytest.mark.parametrize("df", [1, 2, 3, 5, 9, 29, 120, 10_000])
@pytest.mark.parametrize("p", [0.6, 0.8, 0.975, 0.995])
def test_t_quantile_matches_scipy(df: int, p: float) -> None:
    assert t_quantile(p, df) == pytest.approx(scipy.stats.t.ppf(p, df), rel=1e-10)
    assert t_quantile(1 - p, df) == pytest.approx(scipy.stats.t.ppf(1 - p, df), rel=1e-10)


@pytest.mark.parametrize(("t", "df"), [(0.0, 3), (1.5, 2), (-2.2, 7), (40.0, 1), (3.1, 250)])
def test_t_cdf_matches_scipy(t: float, df: int) -> None:
    assert t_cdf(t, df) == pytest.approx(scipy.stats.t.cdf(t, df), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    ("a", "b", "x"), [(2, 3, 0.4), (0.5, 0.5, 0.9), (10, 0.5, 0.99), (0.5, 20, 0.01), (3, 3, 0.5)]
)
def test_incomplete_beta_matches_scipy(a: float, b: float, x: float) -> None:
    assert incomplete_beta(a, b, x) == pytest.approx(scipy.special.betainc(a, b, x), rel=1e-12)


def test_t_quantile_of_two_degrees_of_freedom_has_a_closed_form() -> None:
    # for df = 2: t_p = (2p - 1) sqrt(2 / (1 - (2p - 1)^2))
    q = 2 * 0.975 - 1
    assert t_quantile(0.975, 2) == pytest.approx(q * math.sqrt(2 / (1 - q * q)), rel=1e-12)


def test_cluster_of() -> None:
    nodeid = "evals/test_qa.py::TestQA::test_answer[case-3]"
    assert cluster_of(nodeid, "module") == "evals/test_qa.py"
    assert cluster_of(nodeid, "origin") == "evals/test_qa.py::TestQA::test_answer"
    assert cluster_of(nodeid, "test") == nodeid


def test_repeats_are_averaged_before_pairing() -> None:
    before = {"a": [1.0, 0.0], "b": [0.5], "only_before": [1.0]}
    after = {"a": [1.0, 1.0, 1.0], "b": [0.25, 0.75], "only_after": [0.0]}
    assert per_test_means(before) == {"a": 0.5, "b": 0.5, "only_before": 1.0}
    assert paired_differences(before, after) == {"a": 0.5, "b": 0.0}


def test_clustered_standard_error_worked_example() -> None:
    # mean 3; residual sums: module a (1-3)+(3-3) = -2, module b (2-3)+(6-3) = 2
    # SE^2 = G/(G-1) * (4 + 4) / n^2 = 2 * 8 / 16 = 1
    values = {"a.py::t1": 1.0, "a.py::t2": 3.0, "b.py::t1": 2.0, "b.py::t2": 6.0}
    se, clusters = clustered_standard_error(values, lambda k: cluster_of(k, "module"))
    assert (se, clusters) == (1.0, 2)
    estimate = estimate_mean(values, "module")
    assert estimate.mean == 3.0
    assert estimate.high == pytest.approx(3.0 + scipy.stats.t.ppf(0.975, 1))


def test_one_value_per_cluster_is_the_ordinary_standard_error() -> None:
    values = {f"t{i}": v for i, v in enumerate([0.2, 0.9, 0.4, 0.4, 0.75, 0.1])}
    se, clusters = clustered_standard_error(values, lambda k: k)
    assert clusters == 6
    assert se == pytest.approx(scipy.stats.sem(list(values.values())), rel=1e-12)


def test_clustered_standard_error_against_numpy() -> None:
    rng_free = [((i * 53) % 17) / 17 for i in range(30)]
    values = {f"m{i % 5}.py::t{i}": v for i, v in enumerate(rng_free)}
    x = np.array([values[k] for k in sorted(values)])
    groups = np.array([k.split("::")[0] for k in sorted(values)])
    sums = np.array([(x[groups == g] - x.mean()).sum() for g in np.unique(groups)])
    expected = math.sqrt(5 / 4 * (sums**2).sum()) / len(x)
    assert estimate_mean(values, "module").standard_error == pytest.approx(expected, rel=1e-12)


def test_a_single_cluster_falls_back_to_each_test_alone() -> None:
    values = {f"only.py::t[{i}]": float(i) for i in range(5)}
    estimate = estimate_mean(values, "module")
    assert estimate.clusters == 5
    assert estimate.standard_error == pytest.approx(scipy.stats.sem(range(5)))


def test_one_test_has_no_interval() -> None:
    estimate = estimate_mean({"t": 0.5})
    assert (estimate.standard_error, estimate.low, estimate.high, estimate.detectable) == (
        None,
        None,
        None,
        None,
    )


def test_minimum_detectable_effect() -> None:
    # two-sided 5 % test with 80 % power: (t_0.975 + t_0.8) * SE, about 2.8 SE for large df
    assert minimum_detectable_effect(0.1, 10_000) == pytest.approx(0.28, abs=0.001)
    expected = (scipy.stats.t.ppf(0.975, 4) + scipy.stats.t.ppf(0.8, 4)) * 0.1
    assert minimum_detectable_effect(0.1, 4) == pytest.approx(expected, rel=1e-10)


def test_compare_paired_means_are_over_the_paired_tests() -> None:
    before = {"a": [0.4], "b": [0.6], "gone": [0.0]}
    after = {"a": [0.5], "b": [0.9], "new": [1.0]}
    comparison = compare_paired(before, after, "test")
    assert comparison is not None
    assert comparison.before_mean == pytest.approx(0.5)
    assert comparison.after_mean == pytest.approx(0.7)
    assert comparison.difference.mean == pytest.approx(0.2)
    assert compare_paired({"a": [1.0]}, {"b": [1.0]}) is None


def test_paired_proportions_standard_error_is_the_mcnemar_form() -> None:
    # 20 tests: 5 newly failing (b), 2 newly passing (c), 13 unchanged
    outcomes = (
        [(True, False)] * 5 + [(False, True)] * 2 + [(True, True)] * 10 + [(False, False)] * 3
    )
    before = {f"t{i:02d}": [old] for i, (old, _) in enumerate(outcomes)}
    after = {f"t{i:02d}": [new] for i, (_, new) in enumerate(outcomes)}
    result = compare_proportions(before, after, "test")
    assert result is not None
    assert (result.newly_failing, result.newly_passing) == (5, 2)
    b, c, n = 5, 2, 20
    assert result.comparison.difference.mean == pytest.approx((c - b) / n)
    expected_se = math.sqrt((b + c - (c - b) ** 2 / n) / (n * (n - 1)))
    assert result.comparison.difference.standard_error == pytest.approx(expected_se, rel=1e-12)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (5, 10, 0.2366, 0.7634),  # the textbook example
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (81, 263, 0.2553, 0.3662),
    ],
)
def test_wilson_interval_known_values(k: int, n: int, low: float, high: float) -> None:
    got = wilson_interval(k, n)
    assert got == pytest.approx((low, high), abs=1e-4)


def test_wilson_interval_against_its_formula() -> None:
    k, n = 7, 23
    z = scipy.stats.norm.ppf(0.975)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert wilson_interval(k, n) == pytest.approx((centre - half, centre + half), rel=1e-12)


def test_least_squares_slope_matches_scipy() -> None:
    points = [(float(x), 0.9 - 0.02 * x + ((x * 31) % 7 - 3) / 100) for x in range(12)]
    fit = scipy.stats.linregress([x for x, _ in points], [y for _, y in points])
    slope = least_squares_slope(points)
    assert slope.slope == pytest.approx(fit.slope, rel=1e-12)
    assert slope.standard_error == pytest.approx(fit.stderr, rel=1e-10)
    margin = scipy.stats.t.ppf(0.975, 10) * fit.stderr
    assert (slope.low, slope.high) == pytest.approx((fit.slope - margin, fit.slope + margin))


def test_slope_of_two_points_has_no_interval() -> None:
    slope = least_squares_slope([(0.0, 1.0), (1.0, 0.5)])
    assert (slope.slope, slope.low, slope.high) == (-0.5, None, None)
    with pytest.raises(ValueError, match="distinct x"):
        least_squares_slope([(1.0, 1.0), (1.0, 0.5)])
