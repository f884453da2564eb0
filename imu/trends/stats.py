"""Trend statistics: an OLS line through a metric's values over time, its 95% confidence
interval, and the Holm correction over the family of all metrics of a report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special  # the Student t distribution: scipy.stats would cost 0.8 s to import

FAMILY_ALPHA: Final = 0.05
"""Holm-adjusted p-value below which a trend counts across the family of all metrics."""

MIN_POINTS: Final = 4
"""Fewer values than this: the trend is reported without a confidence interval and never flagged."""


@dataclass
class TrendFit:
    """OLS slope of a metric against time, per week, with its 95% confidence interval.

    ``x`` is time in weeks from the report's origin (:attr:`imu.trends.TrendReport.origin`);
    the fitted line is ``intercept + slope_per_week * x``.
    """

    metric: str
    n: int
    slope_per_week: float
    ci_low: float
    ci_high: float
    span_weeks: float
    change: float
    """Fitted change over the observed span: slope x span (metric units)."""
    first: float
    last: float
    p_value: float = float("nan")
    """Two-sided p-value of the slope (t test, n - 2 degrees of freedom)."""
    intercept: float = float("nan")
    """The line's value at x = 0."""
    residual_se: float = float("nan")
    """Standard error of the residuals, sqrt(SSR / (n - 2)) (NaN for n < 3)."""
    x_mean: float = float("nan")
    sxx: float = float("nan")
    """Sum of squared deviations of x from its mean."""

    def line(self, x_weeks: ArrayLike) -> NDArray[np.float64]:
        """The fitted line at ``x_weeks``."""
        return self.intercept + self.slope_per_week * np.asarray(x_weeks, dtype=float)

    def band(self, x_weeks: ArrayLike) -> NDArray[np.float64]:
        """Half-width of the line's 95% confidence band (of the mean, not of a new value) at
        ``x_weeks``: t(0.975, n-2) x s x sqrt(1/n + (x - mean x)^2 / Sxx); NaN for n < 3."""
        x = np.asarray(x_weeks, dtype=float)
        if self.n < 3:
            return np.full(x.shape, np.nan)
        t = t_quantile(0.975, self.n - 2)
        return t * self.residual_se * np.sqrt(1 / self.n + (x - self.x_mean) ** 2 / self.sxx)


def t_quantile(p: float, df: int) -> float:
    """Quantile ``p`` of Student's t with ``df`` degrees of freedom (``scipy.stats.t.ppf``)."""
    return float(special.stdtrit(df, p))


@dataclass(frozen=True)
class Regression:
    """An OLS line (the fields of ``scipy.stats.linregress`` that the trends use)."""

    slope: float
    intercept: float
    pvalue: float
    """Two-sided p-value of the slope (t test, n - 2 degrees of freedom)."""
    stderr: float
    """Standard error of the slope."""


_TINY: Final = 1.0e-20
"""``scipy.stats.linregress``'s guard against r = +-1 in the t statistic."""


def linregress(x: NDArray[np.float64], y: NDArray[np.float64]) -> Regression:
    """``scipy.stats.linregress(x, y)`` for n >= 2 points with x not all equal, the same
    arithmetic step by step (so the same bits, ``tests/test_trends.py``) without importing
    scipy.stats."""
    n = len(x)
    xmean, ymean = np.mean(x, None), np.mean(y, None)
    ssxm, ssxym, _, ssym = np.cov(x, y, bias=1).flat
    if ssxm == 0.0 or ssym == 0.0:
        r = np.asarray(np.nan if ssxym == 0 else 0.0)[()]
    else:
        r = min(max(ssxym / np.sqrt(ssxm * ssym), -1.0), 1.0)
    slope = ssxym / ssxm
    intercept = ymean - slope * xmean
    if n == 2:
        return Regression(float(slope), float(intercept), 1.0 if y[0] == y[1] else 0.0, 0.0)
    df = n - 2
    t = r * np.sqrt(df / ((1.0 - r + _TINY) * (1.0 + r + _TINY)))
    pvalue = 2 * special.stdtr(df, -np.abs(t))
    stderr = np.sqrt((1 - r**2) * ssym / ssxm / df)
    return Regression(float(slope), float(intercept), float(pvalue), float(stderr))


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaNs stay NaN and do not count). Holm S (1979) A simple
    sequentially rejective multiple test procedure. Scand J Stat 6:65-70."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adj
    return out


def fit_trend(x_weeks: np.ndarray, y: np.ndarray, metric: str = "") -> TrendFit:
    """OLS of ``y`` on ``x_weeks`` (NaNs dropped); CI = slope +- t(0.975, n-2) x stderr
    (:func:`linregress`)."""
    x = np.asarray(x_weeks, dtype=float)
    v = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(v)
    x, v = x[ok], v[ok]
    n = int(x.size)
    nan = float("nan")
    if n < 2 or np.ptp(x) == 0:
        mean = float(v.mean()) if n else nan
        return TrendFit(metric, n, nan, nan, nan, 0.0, nan, mean, mean)
    res = linregress(x, v)
    span = float(np.ptp(x))
    if n >= 3:
        half = t_quantile(0.975, n - 2) * res.stderr
        lo, hi = float(res.slope) - half, float(res.slope) + half
        if res.stderr > 0:
            p_value = float(res.pvalue)
        else:  # an exact line: certain if it moves at all
            p_value = 0.0 if res.slope != 0 else 1.0
        resid = v - (res.intercept + res.slope * x)
        residual_se = float(np.sqrt(np.sum(resid**2) / (n - 2)))
    else:
        lo = hi = p_value = residual_se = nan
    intercept = float(res.intercept)
    x_mean = float(x.mean())
    return TrendFit(
        metric,
        n,
        float(res.slope),
        lo,
        hi,
        span,
        float(res.slope) * span,
        intercept + float(res.slope) * float(x.min()),
        intercept + float(res.slope) * float(x.max()),
        p_value,
        intercept=intercept,
        residual_se=residual_se,
        x_mean=x_mean,
        sxx=float(np.sum((x - x_mean) ** 2)),
    )
