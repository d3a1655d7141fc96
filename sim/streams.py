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

__all__ = ["RandomStreams"]


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
