"""The statistics behind gates, ``diff --stats``, ``trend`` and ``flaky`` (pure, stdlib only).

Following Miller, "Adding Error Bars to Evals" (2024): the unit of analysis is the *test* (its
repeats are averaged first), two runs are compared on the tests both have (paired differences),
and the standard error is clustered, because tests from one module or one parametrized function
share prompts and fixtures and so do not fail independently. Every function is deterministic:
keys are visited in sorted order and nothing is random, so the same inputs give the same numbers
in any process.

Intervals use Student's t with ``clusters - 1`` degrees of freedom: with few clusters the
clustered standard error is itself uncertain, and the t quantile widens the interval to say so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Literal

#: How tests are grouped into clusters: by file, by the parametrized function, or not at all.
ClusterBy = Literal["module", "origin", "test"]
CLUSTER_BY: tuple[ClusterBy, ...] = ("module", "origin", "test")

DEFAULT_CONFIDENCE = 0.95
#: The power the minimum detectable effect is computed for (the usual 80 %).
DEFAULT_POWER = 0.80


# -- distributions -----------------------------------------------------------------------------


def _continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularized incomplete beta function (modified Lentz).

    ``I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * 1 / (1 + d1 / (1 + d2 / (1 + ...)))`` with
    ``d(2m+1) = -(a+m)(a+b+m)x / ((a+2m)(a+2m+1))`` and ``d(2m) = m(b-m)x / ((a+2m-1)(a+2m))``.
    """
    tiny = 1e-300

    def guard(value: float) -> float:
        return tiny if abs(value) < tiny else value

    c = 1.0
    d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0))
    result = d
    for m in range(1, 1000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 / guard(1.0 + numerator * d)
            c = guard(1.0 + numerator / c)
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function ``I_x(a, b)`` for ``0 <= x <= 1``.

    Uses the symmetry ``I_x(a, b) = 1 - I_(1-x)(b, a)`` where the continued fraction converges
    slowly (``x > (a + 1) / (a + b + 2)``).
    """
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must lie in [0, 1], got {x}")
    if x in (0.0, 1.0):
        return x
    log_front = (
        a * math.log(x) + b * math.log1p(-x) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    )
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - math.exp(log_front) * _continued_fraction(b, a, 1.0 - x) / b
    return math.exp(log_front) * _continued_fraction(a, b, x) / a


def t_cdf(t: float, df: float) -> float:
    """Student's t distribution function: ``1 - I_(df/(df+t^2))(df/2, 1/2) / 2`` for ``t >= 0``."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


@lru_cache(maxsize=1024)
def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (bisection on t_cdf).

    Bisection, not Newton: a fixed number of halvings gives the same float on every platform.
    Cached: a trend report asks for the same few quantiles for every series.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie strictly between 0 and 1, got {p}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if middle in (low, high):
            break
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


def z_quantile(p: float) -> float:
    """The ``p`` quantile of the standard normal distribution."""
    return NormalDist().inv_cdf(p)


# -- grouping ----------------------------------------------------------------------------------


def cluster_of(nodeid: str, by: ClusterBy) -> str:
    """The cluster a test belongs to.

    ``module``: the file part of the node id (``tests/test_qa.py``); ``origin``: the node id
    without its parameters (``tests/test_qa.py::test_answer[case3]`` -> ``...::test_answer``);
    ``test``: the node id itself (every test its own cluster, i.e. no clustering).
    """
    if by == "module":
        return nodeid.split("::", 1)[0]
    if by == "origin":
        head, sep, last = nodeid.rpartition("::")
        return head + sep + last.partition("[")[0]
    return nodeid


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean, summed exactly (``math.fsum``) so the order of values cannot matter."""
    if not values:
        raise ValueError("the mean of no values is undefined")
    return math.fsum(values) / len(values)


def per_test_means(values: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Each test's repeats averaged into one value: ``x_i = mean(x_i1 .. x_ik)``; sorted keys."""
    return {key: mean(values[key]) for key in sorted(values) if values[key]}


def paired_differences(
    before: Mapping[str, Sequence[float]], after: Mapping[str, Sequence[float]]
) -> dict[str, float]:
    """``d_i = mean(after_i) - mean(before_i)`` for every test ``i`` that both runs have."""
    old, new = per_test_means(before), per_test_means(after)
    return {key: new[key] - old[key] for key in sorted(old.keys() & new.keys())}


# -- estimates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A mean with its clustered standard error and interval.

    ``standard_error``, ``low``, ``high`` and ``detectable`` are ``None`` when they cannot be
    estimated (fewer than two tests, or fewer than two clusters).
    """

    mean: float
    n: int
    clusters: int
    standard_error: float | None
    low: float | None
    high: float | None
    confidence: float
    detectable: float | None  # the minimum detectable effect at DEFAULT_POWER

    @property
    def half_width(self) -> float | None:
        """Half the interval's width, the ``±`` of a table."""
        if self.low is None or self.high is None:
            return None
        return (self.high - self.low) / 2.0


def clustered_standard_error(
    values: Mapping[str, float], cluster: Callable[[str], str]
) -> tuple[float | None, int]:
    """The cluster-robust standard error of the mean of ``values``, and the number of clusters.

    With ``n`` values in ``G`` clusters, mean ``m`` and residual sums ``e_g = sum_(i in g)
    (x_i - m)``::

        SE^2 = G / (G - 1) * sum_g e_g^2 / n^2

    With one value per cluster this is the familiar ``s / sqrt(n)`` (``s`` with ``n - 1``).
    ``None`` when ``G < 2``: one cluster says nothing about how clusters vary.
    """
    if not values:
        return None, 0
    m = mean([values[key] for key in sorted(values)])
    residuals: dict[str, list[float]] = {}
    for key in sorted(values):
        residuals.setdefault(cluster(key), []).append(values[key] - m)
    groups = len(residuals)
    if groups < 2:
        return None, groups
    total = math.fsum(math.fsum(residuals[g]) ** 2 for g in sorted(residuals))
    n = len(values)
    return math.sqrt(groups / (groups - 1) * total) / n, groups


def minimum_detectable_effect(
    standard_error: float,
    df: float,
    confidence: float = DEFAULT_CONFIDENCE,
    power: float = DEFAULT_POWER,
) -> float:
    """The smallest true difference a two-sided test at this confidence finds with this power.

    ``MDE = (t_(1 - alpha/2, df) + t_(power, df)) * SE`` with ``alpha = 1 - confidence``
    (about ``2.8 * SE`` for many tests).
    """
    alpha = 1.0 - confidence
    return (t_quantile(1.0 - alpha / 2.0, df) + t_quantile(power, df)) * standard_error


def estimate_mean(
    values: Mapping[str, float],
    by: ClusterBy = "module",
    confidence: float = DEFAULT_CONFIDENCE,
) -> Estimate:
    """The mean of per-test values with a clustered ``confidence`` interval.

    ``mean ± t_(1 - alpha/2, G - 1) * SE`` with ``SE`` from :func:`clustered_standard_error`.
    When the tests fall in fewer than two clusters of kind ``by`` (one eval file, say), each
    test is taken as its own cluster instead; :attr:`Estimate.clusters` says how many were used.
    """
    if not values:
        raise ValueError("no values to estimate a mean from")
    m = mean([values[key] for key in sorted(values)])
    se, groups = clustered_standard_error(values, lambda key: cluster_of(key, by))
    if se is None and by != "test":
        se, groups = clustered_standard_error(values, lambda key: key)
    if se is None:
        return Estimate(m, len(values), groups, None, None, None, confidence, None)
    df = groups - 1
    margin = t_quantile(1.0 - (1.0 - confidence) / 2.0, df) * se
    return Estimate(
        mean=m,
        n=len(values),
        clusters=groups,
        standard_error=se,
        low=m - margin,
        high=m + margin,
        confidence=confidence,
        detectable=minimum_detectable_effect(se, df, confidence),
    )


@dataclass(frozen=True)
class PairedComparison:
    """Two runs compared on the tests both have: ``difference`` estimates ``after - before``."""

    before_mean: float
    after_mean: float
    difference: Estimate


def compare_paired(
    before: Mapping[str, Sequence[float]],
    after: Mapping[str, Sequence[float]],
    by: ClusterBy = "module",
    confidence: float = DEFAULT_CONFIDENCE,
) -> PairedComparison | None:
    """The mean paired difference of two runs' per-test values (``None``: no test in common).

    ``before_mean`` and ``after_mean`` are over the paired tests only, so that
    ``after_mean - before_mean`` is the estimated difference.
    """
    differences = paired_differences(before, after)
    if not differences:
        return None
    keys = sorted(differences)
    old, new = per_test_means(before), per_test_means(after)
    return PairedComparison(
        before_mean=mean([old[key] for key in keys]),
        after_mean=mean([new[key] for key in keys]),
        difference=estimate_mean(differences, by, confidence),
    )


@dataclass(frozen=True)
class PairedProportions:
    """Binary outcomes of the paired tests: pass rates, and the tests that changed."""

    comparison: PairedComparison
    newly_failing: int  # passed in every repeat before, not after
    newly_passing: int  # the mirror image


def compare_proportions(
    before: Mapping[str, Sequence[bool]],
    after: Mapping[str, Sequence[bool]],
    by: ClusterBy = "module",
    confidence: float = DEFAULT_CONFIDENCE,
) -> PairedProportions | None:
    """Pass rates compared as paired proportions.

    Each test's outcome becomes its pass fraction ``p_i`` (1 or 0 without repeats); the pass-rate
    difference is the mean of ``p_after_i - p_before_i``, with the clustered interval of
    :func:`estimate_mean`. Without repeats and clusters this is ``(c - b) / n`` for ``b`` tests
    that passed before and fail now and ``c`` the other way round, whose standard error is
    ``sqrt((b + c - (c - b)^2 / n) / (n (n - 1)))`` (the paired-proportion, McNemar-style
    comparison: concordant tests carry no information about the change).
    """
    as_numbers = {
        name: {key: [1.0 if ok else 0.0 for ok in runs[key]] for key in runs}
        for name, runs in (("before", before), ("after", after))
    }
    comparison = compare_paired(as_numbers["before"], as_numbers["after"], by, confidence)
    if comparison is None:
        return None
    old, new = per_test_means(as_numbers["before"]), per_test_means(as_numbers["after"])
    paired = sorted(old.keys() & new.keys())
    return PairedProportions(
        comparison=comparison,
        newly_failing=sum(1 for key in paired if old[key] == 1.0 and new[key] < 1.0),
        newly_passing=sum(1 for key in paired if old[key] < 1.0 and new[key] == 1.0),
    )


def wilson_interval(
    successes: int, trials: int, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``p = successes / trials``::

        (p + z^2/2n ± z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)

    It stays inside [0, 1] and is not degenerate at 0 or n successes, unlike ``p ± z SE``.
    """
    if trials <= 0:
        raise ValueError(f"trials must be positive, got {trials}")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must lie in [0, {trials}], got {successes}")
    z = z_quantile(1.0 - (1.0 - confidence) / 2.0)
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - margin), min(1.0, centre + margin)


@dataclass(frozen=True)
class Slope:
    """A least-squares slope with its interval (``None`` with fewer than three points)."""

    slope: float
    n: int
    standard_error: float | None
    low: float | None
    high: float | None


def least_squares_slope(
    points: Sequence[tuple[float, float]], confidence: float = DEFAULT_CONFIDENCE
) -> Slope:
    """The slope ``b`` of ``y = a + b x`` fitted by least squares, with a t interval::

        b = Sxy / Sxx,   SE(b) = sqrt(sum(residual^2) / (n - 2) / Sxx),   b ± t_(n-2) SE(b)

    with ``Sxx = sum (x - mean x)^2`` and ``Sxy = sum (x - mean x)(y - mean y)``.
    """
    n = len(points)
    if n < 2:
        raise ValueError(f"a slope needs at least two points, got {n}")
    mx = mean([x for x, _ in points])
    my = mean([y for _, y in points])
    sxx = math.fsum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        raise ValueError("a slope needs at least two distinct x values")
    slope = math.fsum((x - mx) * (y - my) for x, y in points) / sxx
    if n < 3:
        return Slope(slope, n, None, None, None)
    intercept = my - slope * mx
    residual = math.fsum((y - intercept - slope * x) ** 2 for x, y in points)
    se = math.sqrt(residual / (n - 2) / sxx)
    margin = t_quantile(1.0 - (1.0 - confidence) / 2.0, n - 2) * se
    return Slope(slope, n, se, slope - margin, slope + margin)
