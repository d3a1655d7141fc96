"""Named random streams derived from one seed.

Each random process of the model (needs, search, relationships, market entry,
population draws...) draws from its own generator, derived from the run's
seed and the process's name. Adding draws to one process then leaves the
others' sequences untouched, which keeps comparisons between scenarios paired
(common random numbers), as in starsim.

Examples
--------
>>> a = RandomStreams(7)["search"].random()
>>> b = RandomStreams(7)["search"].random()
>>> a == b
True
>>> RandomStreams(7)["search"].random() == RandomStreams(7)["market"].random()
False
"""

from __future__ import annotations

import zlib

import numpy as np

from sim.kernels import first_distinct

__all__ = ["RandomStreams", "sample_rows"]


class RandomStreams:
    """Lazily created ``numpy.random.Generator`` per process name.

    Parameters
    ----------
    seed : int
        The run's seed.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        stream = self._streams.get(name)
        if stream is None:
            key = zlib.crc32(name.encode("utf-8"))  # stable across processes, unlike hash()
            stream = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(key,)))
            self._streams[name] = stream
        return stream


def sample_rows(rng: np.random.Generator, population: np.ndarray, rows: int, k: int) -> np.ndarray:
    """``rows`` samples of ``k`` distinct members of ``population`` each (``k <= len(population)``).

    From a large population: twice ``k`` draws with replacement per row, of
    which the first ``k`` distinct are kept (fewer, padded with -1, only with
    vanishing probability). From a small one: exact draws without
    replacement, row by row.

    Examples
    --------
    >>> out = sample_rows(np.random.default_rng(0), np.arange(100), rows=3, k=5)
    >>> out.shape, all(len(set(r)) == 5 for r in out.tolist())
    ((3, 5), True)
    """
    n = len(population)
    if n <= 4 * k:
        return np.stack([rng.choice(population, size=k, replace=False) for _ in range(rows)]).reshape(rows, k)
    draws = rng.integers(0, n, size=(rows, 2 * k))
    picked = first_distinct(draws, k)
    return np.where(picked >= 0, population.take(np.maximum(picked, 0)), -1)
