"""Drawing firm traits, capabilities, sizes and cultures from scenario distributions.

Traits (competence, integrity, benevolence, trust propensity) and capability
levels live in [0, 1] and are drawn from Beta distributions given by mean and
standard deviation. Correlations between traits, where a scenario asks for
them, are imposed with a Gaussian copula: correlated normals are mapped to
uniforms and then through each Beta quantile function, which keeps every
marginal exactly as specified.

Every function takes the generator to draw from; nothing here touches global
random state.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from sim.scenario import Population, SizeDistribution, UnitDistribution, default_capabilities
from sim.vocabulary import DOMAINS, TRAITS

__all__ = ["beta_parameters", "draw_capabilities", "draw_culture", "draw_sizes", "draw_traits", "draw_unit"]


def beta_parameters(mean: float, sd: float) -> tuple[float, float]:
    """Beta shape parameters with the given mean and standard deviation.

    Examples
    --------
    >>> a, b = beta_parameters(0.5, 0.1)
    >>> round(a, 6), round(b, 6)
    (12.0, 12.0)
    """
    nu = mean * (1 - mean) / sd**2 - 1
    return mean * nu, (1 - mean) * nu


def _quantile(dist: UnitDistribution, u: np.ndarray) -> np.ndarray:
    return _quantiles([dist], u[:, None])[:, 0]


def _quantiles(dists: list[UnitDistribution], u: np.ndarray) -> np.ndarray:
    """Each column of ``u`` through the quantile function of its distribution.

    One call of SciPy's ``beta.ppf`` for all columns (its per-call overhead
    exceeds the work for a few dozen values); it computes element by
    element, so the values are those of one call per column.
    """
    out = np.empty(u.shape)
    shaped: list[int] = []
    for col, dist in enumerate(dists):
        if dist.sd == 0 or dist.mean in (0.0, 1.0):
            out[:, col] = dist.mean
        else:
            shaped.append(col)
    if shaped:
        a, b = np.array([beta_parameters(dists[col].mean, dists[col].sd) for col in shaped]).T
        out[:, shaped] = stats.beta.ppf(u[:, shaped], a, b)
    return out


def draw_unit(dist: UnitDistribution, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` values of a [0, 1] distribution."""
    return _quantile(dist, rng.uniform(0.0, 1.0, size=n))


def draw_traits(
    pop: Population, n: int, rng: np.random.Generator, floors: dict[str, float] | None = None
) -> np.ndarray:
    """Draw the four traits of ``n`` firms, columns in :data:`sim.scenario.TRAITS` order.

    Parameters
    ----------
    pop : Population
        Gives each trait's distribution and the correlations between traits.
    n : int
        Number of firms.
    rng : numpy.random.Generator
        Source of randomness.
    floors : dict, optional
        Lower truncation per trait (member selection).

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 4)``.
    """
    floors = floors or {}
    k = len(TRAITS)
    corr = np.eye(k)
    for key, r in pop.correlations.items():
        a, b = (TRAITS.index(t) for t in key.split("~"))
        corr[a, b] = corr[b, a] = r
    # Nearest valid correlation matrix: clip negative eigenvalues (a user may
    # give pairwise values that are not jointly possible).
    w, v = np.linalg.eigh(corr)
    corr = v @ np.diag(np.clip(w, 1e-6, None)) @ v.T
    d = np.sqrt(np.diag(corr))
    corr = corr / np.outer(d, d)
    z = rng.multivariate_normal(np.zeros(k), corr, size=n, method="cholesky") if n else np.zeros((0, k))
    u = stats.norm.cdf(z)
    dists: list[UnitDistribution] = [getattr(pop, trait) for trait in TRAITS]
    floor = np.array([float(floors.get(trait, 0.0)) for trait in TRAITS])
    for col, dist in enumerate(dists):
        if floor[col] > 0 and dist.sd > 0:
            shape_a, shape_b = beta_parameters(dist.mean, dist.sd)
            lo = float(stats.beta.cdf(floor[col], shape_a, shape_b))
            u[:, col] = lo + (1 - lo) * u[:, col]  # keeps the copula's ranks
    return np.maximum(_quantiles(dists, u), floor)


def draw_sizes(spec: SizeDistribution, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw firm sizes (employees) from a truncated log-normal, rounded to whole people."""
    sizes = np.exp(rng.normal(np.log(spec.median), spec.sigma, size=n)) if spec.sigma > 0 else np.full(n, spec.median)
    return np.clip(np.round(sizes), spec.min, spec.max)


def draw_capabilities(pop: Population, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw capability levels, shape ``(n, len(DOMAINS))``."""
    defaults = default_capabilities()
    # Domain after domain, n draws each: the order of one (domains, n) draw.
    u = rng.uniform(0.0, 1.0, size=(len(DOMAINS), n)).T
    return _quantiles([pop.capabilities.get(domain, defaults[domain]) for domain in DOMAINS], u)


def draw_culture(centre: list[float] | None, spread: float, n: int, dims: int, rng: np.random.Generator) -> np.ndarray:
    """Draw culture vectors in [0, 1]^dims: around ``centre`` with sd ``spread``, or uniform."""
    if centre is None:
        return rng.uniform(0, 1, size=(n, dims))
    return np.clip(rng.normal(np.asarray(centre), spread, size=(n, dims)), 0, 1)
