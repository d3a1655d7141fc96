"""What one browser tab of the live app is running: its models, their feeds, their pictures.

Each tab gets its own :class:`Session` (made when the page loads, found again
by the id the page carries), so tabs on one server never share or corrupt a
model. A session holds one :class:`World` per scenario shown (two side by
side), each a model with its :class:`~sim.observe.chronicle.Chronicle` and the fixed
positions of its firms, and steps them together under one lock. The
:class:`SessionStore` keeps a bounded number of sessions, forgetting the ones
used least recently.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.figures import layout_positions
from analysis.live.lesson import Settings, lesson_scenario
from sim import CooperationModel
from sim.observe.chronicle import Chronicle, Entry
from sim.observe.network import edge_frame, node_frame
from sim.scenario import ScenarioError, TraitChangeEvent

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
        """A fresh model of the built-in scenario ``name`` with the lecturer's settings.

        Parameters
        ----------
        name : str
            A built-in scenario.
        settings : Settings
            The lecturer's settings (:func:`~analysis.live.lesson.lesson_scenario`).
        """
        scenario = lesson_scenario(name, settings)
        model = CooperationModel(scenario, seed=settings.seed, record_events=True)
        nodes = pd.DataFrame(node_frame(model))
        return cls(name, model, Chronicle(model), layout_positions(nodes))

    def step(self) -> None:
        """One month; the chronicle's lines of it go into the feed."""
        if self.finished:
            return
        self.model.step()
        self.feed.extend(self.chronicle.read())
        self._place_newcomers()

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

    def alive(self, firm: str) -> bool:
        """Whether a firm of that name is in the market now."""
        firms = self.model.firms
        return firm in firms.names and bool(firms.alive[firms.index_of(firm)])

    def named(self, firm: str) -> bool:
        """Whether the scenario names this firm (rather than drawing it from a population)."""
        return any(f.name == firm for f in self.model.scenario.firms)

    def nodes(self) -> pd.DataFrame:
        """The firms now (see :func:`sim.observe.network.node_frame`)."""
        return pd.DataFrame(node_frame(self.model))

    def edges(self) -> pd.DataFrame:
        """The live cooperations now (see :func:`sim.observe.network.edge_frame`)."""
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
        self.names_shown: list[str] | None = None  # the firm names the page's pickers were last sent
        self.reset(settings)

    def reset(self, settings: Settings | None = None) -> None:
        """Build the worlds afresh, with new settings if given.

        Parameters
        ----------
        settings : Settings, optional
            Checked settings; the current ones if not given.
        """
        with self.lock:
            if settings is not None:
                self.settings = settings
            names = [self.settings.scenario]
            if self.settings.beside and self.settings.beside != self.settings.scenario:
                names.append(self.settings.beside)
            self.worlds = [World.build(name, self.settings) for name in names]

    def firm_names(self) -> list[str]:
        """The firms in the market in any world, by name."""
        return sorted({w.model.firms.names[int(i)] for w in self.worlds for i in w.model.firms.alive_idx})

    @property
    def month(self) -> int:
        """The month the worlds have reached."""
        return int(self.worlds[0].model.steps)

    @property
    def horizon(self) -> int:
        """The last month of the run: the shortest horizon of the worlds, so they stay in step."""
        return min(int(w.model.scenario.steps) for w in self.worlds)

    @property
    def finished(self) -> bool:
        """Whether the run has reached its horizon."""
        return self.month >= self.horizon

    def step(self) -> None:
        """Advance every world one month together (nothing once the horizon is reached)."""
        with self.lock:
            if not self.finished:
                for world in self.worlds:
                    world.step()

    def breach(self, firm: str, integrity: float = 0.1) -> list[str]:
        """A breach of trust: ``firm``'s integrity drops to ``integrity`` at the start of next month.

        It happens in the first world if the firm is in its market, and in
        every other world where a firm the scenario names (the B.I.G.'s
        producers, say) is in the market under that name; generated firms
        ("competitor 7") are different firms in different worlds and are
        breached only where chosen.

        Parameters
        ----------
        firm : str
            The firm's name.
        integrity : float
            Its integrity from next month.

        Returns
        -------
        list of str
            The labels of the worlds in which it will happen.

        Raises
        ------
        ScenarioError
            If the firm is not in the market now, or the run has ended.
        """
        event = TraitChangeEvent(kind="trait_change", step=1, firm=firm, trait="integrity", value=integrity)
        with self.lock:
            if self.finished:
                raise ScenarioError("live app", "breach", firm, "the run has ended: press Reset first")
            worlds = [w for w in self.worlds if w.alive(firm)]
            if not worlds:
                raise ScenarioError("live app", "breach", firm, "must name a firm in the market now")
            named = worlds[0] is self.worlds[0] and any(f.name == firm for f in worlds[0].model.scenario.firms)
            chosen = [w for w in worlds if w is worlds[0] or (named and w.named(firm))]
            for world in chosen:  # every check is done: none of these can refuse
                world.model.intervene(event)
            return [w.label for w in chosen]


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

    def find(self, sid: str) -> Session | None:
        """The session ``sid`` if the store has it (never makes one)."""
        with self._lock:
            session = self._sessions.get(sid)
            if session is not None:
                self._sessions.move_to_end(sid)
            return session

    def get(self, sid: str, settings: Settings) -> tuple[Session, bool]:
        """The session ``sid``, and whether it was made just now with ``settings`` (new, or forgotten before).

        Parameters
        ----------
        sid : str
            The id the page carries.
        settings : Settings
            What to build a new session with.
        """
        session = self.find(sid)
        if session is not None:
            return session, False
        fresh = Session(settings)  # outside the store's lock: building a model takes a moment
        with self._lock:
            session = self._sessions.setdefault(sid, fresh)  # another request may have made it meanwhile
            self._sessions.move_to_end(sid)
            while len(self._sessions) > self.capacity:
                self._sessions.popitem(last=False)
        return session, session is fresh

    def __contains__(self, sid: str) -> bool:
        return sid in self._sessions

    def __len__(self) -> int:
        return len(self._sessions)
