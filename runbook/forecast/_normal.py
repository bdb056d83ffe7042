"""The standard normal's tail and inverse, vectorised in numpy (no scipy on the laptop)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

_SQRT2 = float(np.sqrt(2.0))

# Numerical Recipes' erfc: fractional error < 1.2e-7 everywhere, including far tails,
# which is what an overdue step's survival probability needs.
_ERFC = (
    -1.26551223,
    1.00002368,
    0.37409196,
    0.09678418,
    -0.18628806,
    0.27886807,
    -1.13520398,
    1.48851587,
    -0.82215223,
    0.17087277,
)

# Acklam's inverse normal CDF: relative error < 1.2e-9.
_A = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
      -30.66479806614716, 2.506628277459239)  # fmt: skip
_B = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
      -13.28068155288572)  # fmt: skip
_C = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
      4.374664141464968, 2.938163982698783)  # fmt: skip
_D = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
_P_LOW = 0.02425


def _erfc(x: FloatArray) -> FloatArray:
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = np.zeros_like(z)
    for coef in reversed(_ERFC[1:]):
        poly = t * (coef + poly)
    ans = t * np.exp(-z * z + _ERFC[0] + poly)
    return np.where(x >= 0, ans, 2.0 - ans)


def survival(x: FloatArray | float) -> FloatArray:
    """P(Z > x) for a standard normal Z."""
    return 0.5 * _erfc(np.asarray(x, dtype=np.float64) / _SQRT2)


def log_survival(x: FloatArray | float) -> FloatArray:
    """log P(Z > x), finite far into both tails (an overdue step's evidence is tiny)."""
    x = np.asarray(x, dtype=np.float64)
    z = np.abs(x) / _SQRT2
    t = 1.0 / (1.0 + 0.5 * z)
    poly = np.zeros_like(z)
    for coef in reversed(_ERFC[1:]):
        poly = t * (coef + poly)
    log_upper = np.log(0.5 * t) - z * z + _ERFC[0] + poly  # log P(Z > |x|)
    return np.where(x >= 0, log_upper, np.log1p(-np.exp(log_upper)))


def cdf(x: FloatArray | float) -> FloatArray:
    """P(Z <= x) for a standard normal Z."""
    return survival(-np.asarray(x, dtype=np.float64))


def _poly(coefs: tuple[float, ...], x: FloatArray) -> FloatArray:
    out = np.full_like(x, coefs[0])
    for c in coefs[1:]:
        out = out * x + c
    return out


def ppf(p: FloatArray | float) -> FloatArray:
    """The standard normal quantile of `p` (clipped away from 0 and 1)."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-300, 1.0 - 1e-16)
    out = np.empty_like(p)
    low = p < _P_LOW
    high = p > 1.0 - _P_LOW
    mid = ~(low | high)
    q = p[mid] - 0.5
    r = q * q
    out[mid] = _poly(_A, r) * q / (_poly(_B, r) * r + 1.0)
    for mask, sign, tail in ((low, 1.0, p[low]), (high, -1.0, 1.0 - p[high])):
        s = np.sqrt(-2.0 * np.log(tail))
        out[mask] = sign * _poly(_C, s) / (_poly(_D, s) * s + 1.0)
    return out


def upper_ppf(q: FloatArray) -> FloatArray:
    """The x with P(Z > x) = q, accurate for tiny q (an overdue step's far tail)."""
    return -ppf(q)
