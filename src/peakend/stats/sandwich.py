"""Cluster-robust (sandwich) covariance of weighted least-squares coefficients.

For a linear estimate the sandwich needs no resampling: with ``B = (X'WX)⁻¹``
and per-cluster scores ``s_g = Σ_{i∈g} w_i x_i e_i``, the covariance is
``c · B (Σ_g s_g s_g') B`` (Liang & Zeger 1986; every journey its own cluster
gives White's heteroskedasticity-consistent form). ``c`` is the usual
small-sample factor, ``G/(G−1) · (n−1)/(n−p)`` (CR1; HC1 without clusters), and
intervals use Student's t with ``G − 1`` (or ``n − p``) degrees of freedom.

CR1 underestimates the variance of a coefficient whose column lives in a few
clusters of high leverage (a band few customers reach): least squares fits
those clusters' residuals towards zero. The *bias-reduced* form (CR2; Bell &
McCaffrey 2002) replaces each cluster's residuals ``e_g`` by
``(I − H_gg)^{-1/2} e_g`` (``H_gg`` the cluster's block of the hat matrix) and
drops ``c``: it is exactly unbiased when the errors are independent with equal
variance, and close to it otherwise. A joint Wald test of a few coefficients
on that covariance is referred to Hotelling's T² with the degrees of freedom
``η`` of a Satterthwaite approximation (the HTZ test of Pustejovsky & Tipton
2018, "Small-sample methods for cluster-robust variance estimation and
hypothesis testing in fixed effects models", J. Business & Economic
Statistics): ``η`` is small when the tested columns live in a few clusters,
however many clusters there are in all, where ``G − 1`` (Cameron & Miller
2015) would treat a band of 30 journeys like one of 3,000.

A percentile bootstrap of the same coefficient estimates its 2.5 % and 97.5 %
quantiles from a few of its replicates: with 100 resamples the intervals of
the moment model covered 92–93 % where the sandwich gives the nominal 95 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from peakend.stats.distributions import f_sf, t_quantile
from peakend.stats.links import LOGIT, BinaryLink

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Rows per block of the bias-reduced adjustment and the Satterthwaite sums.
_BLOCK_ROWS = 65_536
#: ``1 − leverage`` below this is a direction the fit reproduces exactly.
_LEVERAGE_TOL = 1e-10


@dataclass(frozen=True)
class Sandwich:
    """Coefficients, their robust covariance and standard errors, the t degrees of freedom.

    A bias-reduced sandwich (``sandwich(..., bias_reduced=True)``) also keeps
    what its joint tests need (:meth:`wald_p`): the bread ``B``, the weighted
    design ``W^½ X`` and its rows adjusted by ``(I − H_gg)^{-1/2}``, ordered by
    cluster, and where each cluster's rows start. When every row is its own
    cluster the adjustment is a factor per row (``row_factor``) and the adjusted
    rows are not kept: they are the weighted rows times their factors, built a
    block at a time when a test needs them.
    """

    coef: F64
    se: F64
    df: int
    cov: F64 = field(default_factory=lambda: np.zeros((0, 0)))
    bread: F64 | None = None
    weighted_x: F64 | None = None
    adjusted_x: F64 | None = None
    starts: I64 | None = None
    row_factor: F64 | None = None

    def half_width(self, level: float) -> F64:
        """Half the width of each coefficient's two-sided ``level`` interval."""
        return np.asarray(self.t_quantile(level) * self.se, dtype=np.float64)

    def t_quantile(self, level: float) -> float:
        """Student's t quantile of a two-sided ``level`` interval on :attr:`df`."""
        return t_quantile(0.5 + level / 2, max(self.df, 1))

    def wald_p(self, index: I64, value: F64 | None = None) -> tuple[float, float]:
        """p-value of the joint test that coefficients ``index`` equal ``value`` (0), and η.

        The HTZ test (module docs): the Wald statistic ``Q`` over the ``q``
        usable directions is referred as ``(η − q + 1)/(η q) · Q`` to
        ``F(q, η − q + 1)``. Needs a bias-reduced sandwich.
        """
        if self.bread is None or self.weighted_x is None or self.starts is None:
            raise ValueError("wald_p needs sandwich(..., bias_reduced=True)")
        wald, q = self._wald(index, value)
        if not q:
            return float("nan"), float("nan")
        eta = self.satterthwaite_df(index)
        if not np.isfinite(eta) or eta <= q - 1:
            return float("nan"), eta
        return f_sf(wald * (eta - q + 1) / (eta * q), q, eta - q + 1), eta

    def f_test_p(self, index: I64, value: F64 | None = None) -> float:
        """p-value of the joint test that coefficients ``index`` equal ``value`` (0), on ``df``.

        The Wald statistic over the ``q`` usable directions, divided by ``q``, referred
        to ``F(q, df)``: the test that matches the intervals' t quantile. It costs
        nothing beyond the covariance, where η (:meth:`wald_p`) needs a pass over every
        row per test; the moment model uses it when every journey is its own customer
        (docs/moments.md, calibration).
        """
        wald, q = self._wald(index, value)
        if not q:
            return float("nan")
        return f_sf(wald / q, q, max(self.df, 1))

    def _wald(self, index: I64, value: F64 | None) -> tuple[float, int]:
        """Wald statistic of coefficients ``index`` against ``value`` (0), and its directions."""
        b = self.coef[index] - (0.0 if value is None else value)
        return wald_statistic(b, self.cov[np.ix_(index, index)])

    def satterthwaite_df(self, index: I64) -> float:
        """η of the coefficients ``index``: Satterthwaite degrees of freedom of their covariance.

        Matches the total variance of the normalised covariance estimate
        ``W = Ω^{-1/2} V Ω^{-1/2}`` under independent, equal-variance errors
        (``Ω = C B C'``, the model's covariance of the tested coefficients) to
        that of a Wishart matrix on η degrees of freedom:
        ``η = q (q + 1) / Σ_{s,t} Var(W_st)``. For one coefficient this is
        Bell & McCaffrey's (2002) degrees of freedom.
        """
        assert self.bread is not None
        bread = self.bread
        lam, vec = np.linalg.eigh(bread[np.ix_(index, index)])
        usable = lam > 1e-12 * max(float(lam.max()), 1e-300)
        if not usable.any():
            return float("nan")
        # normalised contrasts d_s (rows), mapped through the bread: B d_s
        contrast = np.zeros((int(usable.sum()), bread.shape[0]))
        contrast[:, index] = (vec[:, usable] / np.sqrt(lam[usable])).T
        q = len(contrast)
        return q * (q + 1) / self._total_variance(contrast @ bread)

    def contrast_df(self, gradient: F64) -> float:
        """Bell & McCaffrey's (2002) degrees of freedom of the estimate ``gradient · coef``.

        The t quantile of an interval from a bias-reduced sandwich on these
        degrees of freedom is what Imbens & Kolesár (2016, "Robust standard errors
        in small samples: some practical advice", Rev. Economics and Statistics)
        recommend: they are small when the estimate rests on a few rows of high
        leverage (a band few journeys of a small group reach), where ``n − p``
        would treat 15 journeys like 1,500. Costs a pass over the rows.
        """
        assert self.bread is not None
        scale = float(gradient @ self.bread @ gradient)
        if not scale > 0:
            return float("nan")
        direction = (gradient / np.sqrt(scale)) @ self.bread
        return 2.0 / self._total_variance(direction[None, :])

    def _total_variance(self, directions: F64) -> float:
        """``Σ_{s,t} Var(W_st)`` of the normalised contrasts mapped through the bread."""
        assert self.bread is not None and self.weighted_x is not None
        assert self.starts is not None
        sums = _SatterthwaiteSums(len(directions), self.bread)
        for lo, hi in _cluster_blocks(self.starts, len(self.weighted_x)):
            sums.add(
                self._adjusted(lo, hi) @ directions.T,
                self.weighted_x[lo:hi],
                self.starts[(self.starts >= lo) & (self.starts < hi)] - lo,
            )
        return sums.total_variance()

    def _adjusted(self, lo: int, hi: int) -> F64:
        """The adjusted rows ``lo:hi`` (kept, or the weighted rows times their factors)."""
        if self.adjusted_x is not None:
            return self.adjusted_x[lo:hi]
        assert self.weighted_x is not None and self.row_factor is not None
        return np.asarray(self.weighted_x[lo:hi] * self.row_factor[lo:hi, None], dtype=np.float64)


class _SatterthwaiteSums:
    """Sums over clusters behind :meth:`Sandwich.satterthwaite_df`.

    With ``u_sg = A_g X̃_g B d_s`` and ``v_sg = X̃_g' u_sg``, the matrices
    ``M_st = diag_g(u_sg' u_tg) − V_s B V_t'`` (G × G) give
    ``Var(W_st) = ⟨M_ss, M_tt⟩ + ⟨M_st, M_ts⟩`` (Frobenius products); each
    product expands into sums over clusters and ``p × p`` cross-products, so
    no ``G × G`` matrix is formed.
    """

    def __init__(self, q: int, bread: F64) -> None:
        p = bread.shape[0]
        self.bread = bread
        self.uu_uu = np.zeros((q, q, q, q))
        self.uu_vbv = np.zeros((q, q, q, q))
        self.vv = np.zeros((q, q, p, p))

    def add(self, u: F64, xt: F64, starts: I64) -> None:
        """One block of whole clusters: ``u`` (rows × q), ``xt`` its weighted design rows.

        When every row is a cluster of its own the sums over a cluster are the rows
        themselves, taken as they are (``reduceat`` would copy each block twice more).
        """
        uu = u[:, :, None] * u[:, None, :]  # (g, q, q)
        v = u[:, :, None] * xt[:, None, :]  # (g, q, p)
        if len(starts) < len(u):
            uu = np.add.reduceat(uu, starts, axis=0)
            v = np.add.reduceat(v, starts, axis=0)
        vb = v @ self.bread
        vbv = np.einsum("gap,gbp->gab", vb, v)
        self.uu_uu += np.einsum("gab,gcd->abcd", uu, uu)
        self.uu_vbv += np.einsum("gab,gcd->abcd", uu, vbv)
        self.vv += np.tensordot(v, v, axes=([0], [0])).transpose(0, 2, 1, 3)

    def frobenius(self, a: int, b: int, c: int, d: int) -> float:
        """``⟨M_ab, M_cd⟩``."""
        cross = self.bread @ self.vv[a, c] @ self.bread @ self.vv[d, b]
        return float(
            self.uu_uu[a, b, c, d]
            - self.uu_vbv[a, b, c, d]
            - self.uu_vbv[c, d, a, b]
            + np.trace(cross)
        )

    def total_variance(self) -> float:
        """``Σ_{s,t} Var(W_st)``."""
        q = self.uu_uu.shape[0]
        return sum(
            self.frobenius(s, s, t, t) + self.frobenius(s, t, t, s)
            for s in range(q)
            for t in range(q)
        )


def wald_statistic(b: F64, cov: F64) -> tuple[float, int]:
    """Wald statistic ``b' cov⁺ b`` over the covariance's usable directions, and their number."""
    lam, vec = np.linalg.eigh(cov)
    usable = lam > 1e-12 * max(float(lam.max()), 1e-300)
    if not usable.any():
        return float("nan"), 0
    proj = vec[:, usable].T @ b
    return float(np.sum(proj**2 / lam[usable])), int(usable.sum())


def scaled_pinv(xtx: F64, ridge: float = 0.0, rcond: float = 1e-9) -> F64:
    """Pseudo-inverse of a Gram matrix after scaling it to unit diagonal.

    ``ridge`` is added to every diagonal element but the first (the
    intercept). Exactly collinear columns share their effect instead of getting
    huge, cancelling coefficients.
    """
    xtx = xtx.copy()
    xtx[np.arange(1, len(xtx)), np.arange(1, len(xtx))] += ridge
    scale = 1.0 / np.sqrt(np.maximum(np.diag(xtx), 1e-300))
    lam, vec = np.linalg.eigh(xtx * np.outer(scale, scale))
    inv = np.divide(1.0, lam, out=np.zeros_like(lam), where=lam > rcond * lam.max())
    return np.asarray((scale[:, None] * vec * inv) @ (vec.T * scale[None, :]), dtype=np.float64)


def sandwich(
    x: F64,
    y: F64,
    weights: F64,
    clusters: I64 | None = None,
    bias_reduced: bool = False,
) -> Sandwich:
    """Weighted least squares of ``y`` on ``x`` (with its intercept column) and its sandwich.

    ``clusters`` holds each row's cluster code ``0..G−1`` (``None``: every row
    its own cluster). ``bias_reduced`` gives the CR2 covariance (HC2 without
    clusters) and what :meth:`Sandwich.wald_p` needs; otherwise CR1 (HC1).
    """
    n, p = x.shape
    bread = scaled_pinv(_weighted_gram(x, weights))
    coef = bread @ (x.T @ (weights * y))
    groups = n if clusters is None else int(clusters.max()) + 1
    rank = int(np.linalg.matrix_rank(bread))
    df = groups - 1 if clusters is not None else n - rank
    if bias_reduced:
        return _bias_reduced(x, y, weights, clusters, bread, coef, df)
    scores = x * (weights * (y - x @ coef))[:, None]
    if clusters is not None:
        summed = np.zeros((groups, p))
        np.add.at(summed, clusters, scores)
        scores = summed
    factor = groups / max(groups - 1, 1) * (n - 1) / max(n - rank, 1)
    cov = factor * bread @ (scores.T @ scores) @ bread
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return Sandwich(coef=np.asarray(coef, dtype=np.float64), se=se, df=df, cov=cov)


def _weighted_gram(x: F64, weights: F64) -> F64:
    """``X'WX``, block by block of rows (no weighted copy of the whole ``X``)."""
    gram = np.zeros((x.shape[1], x.shape[1]))
    for lo in range(0, len(x), _BLOCK_ROWS):
        block = x[lo : lo + _BLOCK_ROWS]
        gram += (block * weights[lo : lo + _BLOCK_ROWS, None]).T @ block
    return gram


def logistic_sandwich(
    x: F64,
    y: F64,
    weights: F64,
    coef: F64,
    clusters: I64 | None = None,
    link: BinaryLink = LOGIT,
) -> Sandwich:
    """The bias-reduced (CR2) sandwich of logistic-regression coefficients ``coef``.

    A logistic fit is the weighted least squares of its working response
    ``z = η + (y − p)/(p(1 − p))`` with weights ``w p(1 − p)`` (its last IRLS
    step), whose residuals weighted by those weights are the score terms
    ``w (y − p)``: the sandwich of that regression at ``coef`` is the usual
    cluster-robust covariance of a logistic fit, and its bias-reduced form is
    Bell & McCaffrey's adjustment for generalised linear models (the one
    Pustejovsky & Tipton 2018 use). ``coef`` comes from the fit (its weak ridge
    leaves a score of almost 0); the bread is the unpenalised information.

    Another ``link`` (:mod:`peakend.stats.links`) the same way: its last IRLS
    step's weights ``w F'(η)² / (p (1 − p))`` and working response
    ``η + (y − p) / F'(η)`` give the score terms ``w (y − p) F'(η) / (p (1 − p))``.
    """
    eta = x @ coef
    _, factor, resp = link.irls(y, eta)
    work = weights * factor
    bread = scaled_pinv(_weighted_gram(x, work))
    groups = len(y) if clusters is None else int(clusters.max()) + 1
    rank = int(np.linalg.matrix_rank(bread))
    df = groups - 1 if clusters is not None else len(y) - rank
    return _bias_reduced(x, resp, work, clusters, bread, coef, df)


def _bias_reduced(
    x: F64, y: F64, weights: F64, clusters: I64 | None, bread: F64, coef: F64, df: int
) -> Sandwich:
    """The CR2 sandwich: every cluster's residuals adjusted by ``(I − H_gg)^{-1/2}``.

    When every row is its own cluster (no ``clusters``) the rows keep their order
    and the adjustment is a factor per row, applied in blocks of rows and kept as
    the factors: at a million journeys each full-size temporary is a third of a
    gigabyte of fresh memory. Weights that are all 1 leave ``x`` as it is (the
    weighted design is ``x`` itself, not a copy).
    """
    n = len(y)
    factor = None
    if clusters is None:
        unweighted = bool(np.all(weights == 1.0))
        root = np.sqrt(weights)
        xt = x if unweighted else x * root[:, None]
        et = y - x @ coef if unweighted else (y - x @ coef) * root
        starts = np.arange(n, dtype=np.int64)
        factor, meat = _adjusted_singletons(xt, et, bread)
        adjusted = None
    else:
        order = np.argsort(clusters, kind="stable")
        root = np.sqrt(weights[order])
        xt = x[order] * root[:, None]
        et = (y[order] - x[order] @ coef) * root
        sorted_codes = clusters[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        adjusted = _adjusted_rows(xt, bread, starts)
        scores = np.add.reduceat(adjusted * et[:, None], starts, axis=0)
        # (A_g X̃_g)' ẽ_g = X̃_g' A_g ẽ_g, A_g symmetric
        meat = scores.T @ scores
    cov = bread @ meat @ bread
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return Sandwich(
        coef=np.asarray(coef, dtype=np.float64),
        se=se,
        df=df,
        cov=cov,
        bread=bread,
        weighted_x=xt,
        adjusted_x=adjusted,
        starts=starts.astype(np.int64),
        row_factor=factor,
    )


def _adjusted_singletons(xt: F64, et: F64, bread: F64) -> tuple[F64, F64]:
    """Every row's factor ``A_i = (1 − h_i)^{-1/2}`` (its own cluster) and the meat.

    The meat is ``Σ_i (A_i x̃_i ẽ_i)(A_i x̃_i ẽ_i)'``; both are built block by block
    of rows, so the temporaries stay a block's size.
    """
    lam, vec = np.linalg.eigh(bread)
    root = vec * np.sqrt(np.clip(lam, 0.0, None))
    factors = np.empty(len(xt))
    meat = np.zeros((xt.shape[1], xt.shape[1]))
    for lo in range(0, len(xt), _BLOCK_ROWS):
        block = xt[lo : lo + _BLOCK_ROWS]
        scaled = block @ root
        factor = _inverse_root(1.0 - np.einsum("ij,ij->i", scaled, scaled))
        factors[lo : lo + _BLOCK_ROWS] = factor
        scores = block * factor[:, None] * et[lo : lo + _BLOCK_ROWS, None]
        meat += scores.T @ scores
    return factors, meat


def _adjusted_rows(xt: F64, bread: F64, starts: I64) -> F64:
    """``A_g X̃_g`` for every cluster (rows ordered by cluster), ``A_g = (I − H_gg)^{-1/2}``.

    With ``B = L L'`` and the thin SVD ``X̃_g L = U S V'``, ``H_gg = U S² U'``
    and ``A_g X̃_g = X̃_g + U ((1 − S²)^{-1/2} − 1) U' X̃_g``; a direction the
    fit reproduces exactly (leverage 1) has no residual and gets weight 0
    (the pseudo-inverse). Clusters are processed by size, many at once.
    """
    lam, vec = np.linalg.eigh(bread)
    root = vec * np.sqrt(np.clip(lam, 0.0, None))
    sizes = np.diff(np.r_[starts, len(xt)])
    out = np.empty_like(xt)
    for m in np.unique(sizes):
        first = starts[sizes == m]
        if m == 1:  # one row: its leverage is a number
            scaled = xt[first] @ root
            factor = _inverse_root(1.0 - np.einsum("ij,ij->i", scaled, scaled))
            out[first] = xt[first] * factor[:, None]
            continue
        step = max(1, _BLOCK_ROWS // int(m))
        for lo in range(0, len(first), step):
            rows = first[lo : lo + step, None] + np.arange(m)[None, :]
            block = xt[rows]  # (c, m, p)
            u, s, _ = np.linalg.svd(block @ root, full_matrices=False)
            factor = _inverse_root(1.0 - s**2) - 1.0
            out[rows] = block + u @ (factor[:, :, None] * (np.swapaxes(u, 1, 2) @ block))
    return out


def _inverse_root(values: F64) -> F64:
    """``values^{-1/2}``, 0 where ``values`` is (numerically) 0."""
    return np.divide(
        1.0,
        np.sqrt(np.clip(values, 0.0, None)),
        out=np.zeros_like(values),
        where=values > _LEVERAGE_TOL,
    )


def _cluster_blocks(starts: I64, n: int) -> list[tuple[int, int]]:
    """Row ranges of about :data:`_BLOCK_ROWS` rows that never split a cluster."""
    first = np.r_[True, np.diff(starts // _BLOCK_ROWS) > 0]
    bounds = [int(b) for b in starts[first]] + [n]
    return list(zip(bounds[:-1], bounds[1:], strict=True))
