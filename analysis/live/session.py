"""What one browser tab of the live app is running: its models, their feeds, their pictures.

Each tab gets its own :class:`Session` (made when the page loads, found again
by the id the page carries), so tabs on one server never share or corrupt a
model. A session holds one :class:`World` per scenario shown (two side by
side), each a model with its :class:`~sim.chronicle.Chronicle` and the fixed
positions of its firms, and steps them together under one lock. The
:class:`SessionStore` keeps a bounded number of sessions, forgetting the ones
used least recently.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.figures import layout_positions
from analysis.live.lesson import Settings, lesson_scenario
from sim import CooperationModel
from sim.chronicle import Chronicle, Entry
from sim.network import edge_frame, node_frame
from sim.scenario import TraitChangeEvent

__all__ = ["Session", "SessionStore", "World"]

#: Lines of the event feed kept per world.
FEED_LENGTH = 400


@dataclass
class World:
    """One model on screen: the model, what it has told, where its firms are drawn."""

    label: str
    model: CooperationModel
    chronicle: Chronicle
    positions: dict[int, tuple[float, float]]
    feed: deque[Entry] = field(default_factory=lambda: deque(maxlen=FEED_LENGTH))

    @classmethod
    def build(cls, name: str, settings: Settings) -> World:
        """A fresh model of the built-in scenario ``name`` with the lecturer's settings."""
        scenario = lesson_scenario(name, settings)
        model = CooperationModel(scenario, seed=settings.seed, record_events=True)
        nodes = pd.DataFrame(node_frame(model))
        return cls(name, model, Chronicle(model), layout_positions(nodes))

    def step(self) -> list[Entry]:
        """One month; the chronicle's lines of it (kept in the feed too)."""
        if self.finished:
            return []
        self.model.step()
        entries = self.chronicle.read()
        self.feed.extend(entries)
        self._place_newcomers()
        return entries

    @property
    def finished(self) -> bool:
        """Whether the scenario's horizon is reached."""
        return not self.model.running

    def _place_newcomers(self) -> None:
        """Firms that entered get a position near their niche's firms; nobody else moves."""
        firms = self.model.firms
        new = [int(i) for i in firms.alive_idx if int(i) not in self.positions]
        for i in new:
            niche = int(firms.niche[i])
            mates = [j for j in self.positions if j < firms.n and int(firms.niche[j]) == niche]
            if mates:
                cx = float(np.mean([self.positions[j][0] for j in mates]))
                cy = float(np.mean([self.positions[j][1] for j in mates]))
            else:  # a new niche: on the circle, at an angle given by the niche's index
                angle = 2 * math.pi * (niche * 0.618034 % 1.0)
                cx, cy = math.cos(angle), math.sin(angle)
            # A small spiral around the niche's centre, one turn per few newcomers.
            k = len(mates) + 1
            r = 0.04 * math.sqrt(k)
            a = 2.399963 * k  # the golden angle, so newcomers do not stack
            self.positions[i] = (round(cx + r * math.cos(a), 3), round(cy + r * math.sin(a), 3))

    def nodes(self) -> pd.DataFrame:
        """The firms now (see :func:`sim.network.node_frame`)."""
        return pd.DataFrame(node_frame(self.model))

    def edges(self) -> pd.DataFrame:
        """The live cooperations now (see :func:`sim.network.edge_frame`)."""
        return pd.DataFrame(edge_frame(self.model))


class Session:
    """One tab's run: the settings, the worlds they built, and a lock around them.

    Parameters
    ----------
    settings : Settings
        Checked settings (:meth:`Settings.checked`).
    """

    def __init__(self, settings: Settings) -> None:
        self.lock = threading.RLock()
        self.settings = settings
        self.worlds: list[World] = []
        self.last_used = time.monotonic()
        self.reset(settings)

    def reset(self, settings: Settings | None = None) -> None:
        """Build the worlds afresh (with new settings if given)."""
        with self.lock:
            if settings is not None:
                self.settings = settings
            names = [self.settings.scenario]
            if self.settings.beside and self.settings.beside != self.settings.scenario:
                names.append(self.settings.beside)
            self.worlds = [World.build(name, self.settings) for name in names]

    @property
    def month(self) -> int:
        """The month the worlds have reached."""
        return int(self.worlds[0].model.steps)

    @property
    def finished(self) -> bool:
        """Whether every world has reached its horizon."""
        return all(w.finished for w in self.worlds)

    def step(self, months: int = 1) -> None:
        """Advance every world together."""
        with self.lock:
            for _ in range(months):
                for world in self.worlds:
                    world.step()

    def breach(self, firm: str, integrity: float = 0.1) -> None:
        """A breach of trust: ``firm``'s integrity drops to ``integrity`` next month, in every world that has it.

        Raises
        ------
        ScenarioError
            If no world has that firm in its market now.
        """
        event = TraitChangeEvent(kind="trait_change", step=1, firm=firm, trait="integrity", value=integrity)
        with self.lock:
            holding = [w for w in self.worlds if firm in w.model.firms.names]
            for world in holding or self.worlds[:1]:  # with no world holding it, the first one says why not
                world.model.intervene(event)


class SessionStore:
    """The sessions of one server, by id, at most ``capacity`` of them (least recently used go first).

    Parameters
    ----------
    capacity : int
        Most sessions kept; each holds one or two models.
    """

    def __init__(self, capacity: int = 12) -> None:
        self.capacity = capacity
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def new_id(self) -> str:
        """A fresh session id for a page that has just loaded."""
        return uuid.uuid4().hex

    def get(self, sid: str, settings: Settings) -> Session:
        """The session ``sid``, made with ``settings`` if it does not exist (or was forgotten)."""
        with self._lock:
            session = self._sessions.get(sid)
            if session is not None:
                self._sessions.move_to_end(sid)
                session.last_used = time.monotonic()
                return session
        session = Session(settings)  # outside the store's lock: building a model takes a moment
        with self._lock:
            self._sessions[sid] = session
            while len(self._sessions) > self.capacity:
                self._sessions.popitem(last=False)
        return session

    def __contains__(self, sid: str) -> bool:
        return sid in self._sessions

    def __len__(self) -> int:
        return len(self._sessions)
