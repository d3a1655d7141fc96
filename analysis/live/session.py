"""What one browser tab of the live app is running: its models, their feeds, their pictures.

Each tab gets its own :class:`Session` (made when the page loads, found again
by the id the page carries), so tabs on one server never share or corrupt a
model. A session holds one :class:`World` per scenario shown (two side by
side), each a model with its :class:`~sim.observe.chronicle.Chronicle`, the whole
run's feed and the fixed positions of its firms, and steps them together
under one lock.

The :class:`SessionStore` keeps at most ``capacity`` sessions (``kreislauf
live --max-sessions``). Each open page reports every few seconds that it is
still open; when the store is full, it drops a session whose page has closed
(no report for :attr:`SessionStore.closed_after` seconds) or, failing that,
one nobody has stepped or reset for :attr:`SessionStore.idle_after` seconds,
never an open page in use and never the newest. If there is none, the new
page is refused with a message instead. A dropped or reset session's models
are released (:func:`release`), so memory stays bounded by the number of
sessions.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.figures import layout_positions
from analysis.live.lesson import Settings, lesson_scenario
from sim import CooperationModel
from sim.observe.chronicle import Chronicle, Entry
from sim.observe.network import edge_frame, node_frame
from sim.scenario import ScenarioError, TraitChangeEvent

__all__ = ["Session", "SessionStore", "StoreFull", "World", "resident_mb"]

#: Kinds of feed line counted as marks on the running plots' time axis.
_MARKED = {"exit": "exits", "market": "firms entering or leaving", "event": "events"}


@dataclass
class World:
    """One model on screen: the model, what it has told, where its firms are drawn."""

    label: str
    model: CooperationModel
    chronicle: Chronicle
    positions: dict[int, tuple[float, float]]
    feed: list[Entry] = field(default_factory=list)
    #: Breaches of trust: (firm index, month it takes effect).
    breaches: list[tuple[int, int]] = field(default_factory=list)
    #: Per month, how many exits, entries or departures and events it brought.
    marks: dict[int, Counter[str]] = field(default_factory=dict)
    #: The scenario's focal firms (the six B.I.G. producers where present).
    focal: frozenset[str] = frozenset()
    #: Firms drawn with their name: those the scenario names, and the focal firms.
    labelled: frozenset[str] = frozenset()
    #: Each named firm's label shown and its place, and the axes' ranges, for the named firms and box they fit.
    label_places: tuple[tuple, tuple[dict[int, tuple[str, str]], list[float], list[float]]] | None = None

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
        focal = frozenset(scenario.measures.focal_firms) & frozenset(model.firms.names)
        world = cls(
            name,
            model,
            Chronicle(model),
            layout_positions(nodes),
            focal=focal,
            labelled=focal | {f.name for f in scenario.firms},
        )
        for event in scenario.events:  # a breach the scenario schedules is marked like one made in class
            if event.kind == "trait_change" and event.trait == "integrity" and event.firm in model.firms.names:
                world.breaches.append((model.firms.index_of(event.firm), int(event.step)))
        return world

    def step(self) -> None:
        """One month; the chronicle's lines of it go into the feed (the whole run's lines are kept)."""
        if self.finished:
            return
        self.model.step()
        lines = self.chronicle.read()
        self.feed.extend(lines)
        counts = Counter(_MARKED[e.kind] for e in lines if e.kind in _MARKED)
        if counts:
            self.marks[int(self.model.steps)] = counts
        self._place_newcomers()

    def mark(self, entry: Entry) -> str:
        """How the feed marks a line: ``"breach"``, ``"consequence"`` or ``""``.

        ``"breach"`` is the line of the breach itself; ``"consequence"`` a
        later line about what the breached firm did or suffered.
        """
        for firm, month in self.breaches:
            if entry.step < month:
                continue
            name = self.model.firms.names[firm]
            if entry.kind == "event" and entry.step == month and name in entry.text and "integrity" in entry.text:
                return "breach"
            if firm in entry.firms:
                return "consequence"
        return ""

    def concerns(self, entry: Entry, firm: str) -> bool:
        """Whether a feed line is about the firm named ``firm``."""
        firms = self.model.firms
        if firm in firms.names and firms.index_of(firm) in entry.firms:
            return True
        return not entry.firms and firm in entry.text  # scheduled events name their firms in words only

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
        self.running_sent = 0.0  # when the page was last sent the running plots (time.monotonic)
        self.sizes_drawn: dict[str, tuple[float, float]] = {}  # the page's box sizes the figures were drawn for
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
            worlds = [World.build(name, self.settings) for name in names]
            self.close()
            self.worlds = worlds

    def close(self) -> None:
        """Let go of the worlds' models (they are freed with their last reference); the session shows nothing until reset."""
        with self.lock:
            self.worlds = []

    @property
    def breaches(self) -> list[tuple[str, str, int]]:
        """Every breach of trust in the worlds: (world, firm, month it takes effect)."""
        return [(w.label, w.model.firms.names[f], m) for w in self.worlds for f, m in w.breaches]

    def firm_names(self) -> list[str]:
        """The firms in the market in any world, by name."""
        return sorted({w.model.firms.names[int(i)] for w in self.worlds for i in w.model.firms.alive_idx})

    @property
    def month(self) -> int:
        """The month the worlds have reached (0 for a closed session)."""
        return int(self.worlds[0].model.steps) if self.worlds else 0

    @property
    def horizon(self) -> int:
        """The last month of the run: the shortest horizon of the worlds, so they stay in step."""
        return min((int(w.model.scenario.steps) for w in self.worlds), default=0)

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
            if not self.worlds:
                raise ScenarioError("live app", "breach", firm, "this page's run was dropped: reload the page")
            if self.finished:
                raise ScenarioError("live app", "breach", firm, "the run has ended: press Reset first")
            worlds = [w for w in self.worlds if w.alive(firm)]
            if not worlds:
                raise ScenarioError("live app", "breach", firm, "must name a firm in the market now")
            named = worlds[0] is self.worlds[0] and any(f.name == firm for f in worlds[0].model.scenario.firms)
            chosen = [w for w in worlds if w is worlds[0] or (named and w.named(firm))]
            for world in chosen:  # every check is done: none of these can refuse
                world.model.intervene(event)
                world.breaches.append((world.model.firms.index_of(firm), self.month + 1))
            return [w.label for w in chosen]


def resident_mb() -> float | None:
    """Resident memory of the running process in MB (Linux's ``/proc/self/status``); None where unreadable."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class StoreFull(Exception):
    """Every place in the store is taken by an open page in use: a new page cannot get a model."""


class SessionStore:
    """The sessions of one server, by id: at most ``capacity``, open pages in use always kept.

    Parameters
    ----------
    capacity : int
        Most sessions kept; each holds one or two models.
    closed_after : float
        Seconds without a sign of life (the page reports every
        :data:`~analysis.live.app.HEARTBEAT` seconds while open) after which
        a page counts as closed.
    idle_after : float
        Seconds without a step or reset after which an open page counts as
        idle and may make way for a new one.
    clock : callable
        Seconds now (``time.monotonic``; tests pass their own).
    """

    def __init__(
        self,
        capacity: int = 60,
        closed_after: float = 120.0,
        idle_after: float = 1800.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity = {capacity}: must be at least 1")
        self.capacity = capacity
        self.closed_after = closed_after
        self.idle_after = idle_after
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._seen: dict[str, float] = {}  # last sign of life from the page
        self._used: dict[str, float] = {}  # last step, play tick or reset
        self._lock = threading.Lock()
        self._building = 0  # places held for sessions being built
        self.started_mb = resident_mb()  # the server's memory before any page had a run

    def report(self) -> dict[str, object]:
        """What a lecturer or an administrator needs to know about the server's load.

        Returns
        -------
        dict
            ``pages`` (sessions kept), ``capacity``, ``memory_mb`` (the
            server's resident memory now), ``started_mb`` (before any page),
            and ``mb_per_page``: the growth since the start shared by the
            pages kept (None where memory cannot be read or no page is kept).
        """
        now = resident_mb()
        pages = len(self)
        per_page = None
        if now is not None and self.started_mb is not None and pages:
            per_page = round(max(0.0, now - self.started_mb) / pages, 1)
        return {
            "pages": pages,
            "capacity": self.capacity,
            "memory_mb": None if now is None else round(now, 1),
            "started_mb": None if self.started_mb is None else round(self.started_mb, 1),
            "mb_per_page": per_page,
        }

    def new_id(self) -> str:
        """A fresh session id for a page that has just loaded."""
        return uuid.uuid4().hex

    def find(self, sid: str, used: bool = False) -> Session | None:
        """The session ``sid`` if the store has it (never makes one); the page counts as seen.

        Parameters
        ----------
        sid : str
            The id the page carries.
        used : bool
            Whether the page is stepping or resetting its run (not only looking).
        """
        with self._lock:
            session = self._sessions.get(sid)
            if session is not None:
                now = self.clock()
                self._seen[sid] = now
                if used:
                    self._used[sid] = now
            return session

    def touch(self, sid: str) -> bool:
        """The page ``sid`` is still open; whether the store has its session."""
        return self.find(sid) is not None

    def get(self, sid: str, settings: Settings) -> tuple[Session, bool]:
        """The session ``sid``, and whether it was made just now with ``settings`` (new, or dropped before).

        Parameters
        ----------
        sid : str
            The id the page carries.
        settings : Settings
            What to build a new session with.

        Raises
        ------
        StoreFull
            If the store is full of open pages in use.
        """
        session = self.find(sid, used=True)
        if session is not None:
            return session, False
        with self._lock:  # make room and hold a place first, so a full store refuses before building anything
            room, dropped = (True, []) if sid in self._sessions else self._make_room(1)
            if room:
                self._building += 1  # pages loading at the same moment cannot take more places than there are
        for old in dropped:  # outside the store's lock: a session's lock may be held by a step
            old.close()
        if not room:
            raise StoreFull(
                f"the server already runs {self.capacity} pages, all open and in use: close a tab, "
                "or start the app with a higher --max-sessions"
            )
        try:
            fresh = Session(settings)  # outside the store's lock: building a model takes a moment
        finally:
            with self._lock:
                self._building -= 1
        with self._lock:
            session = self._sessions.setdefault(sid, fresh)  # another request may have made it meanwhile
            now = self.clock()
            self._seen[sid] = self._used[sid] = now
            dropped = self._evict(len(self._sessions) - self.capacity, keep=sid)
        if session is not fresh:
            fresh.close()
        for old in dropped:
            old.close()
        return session, session is fresh

    def _make_room(self, places: int) -> tuple[bool, list[Session]]:
        """Whether ``places`` more sessions fit once closed or idle pages are dropped, and those dropped.

        Call under the store's lock; close the dropped sessions after releasing it.
        """
        excess = len(self._sessions) + self._building + places - self.capacity
        if excess <= 0:
            return True, []
        dropped = self._evict(excess)
        return len(dropped) >= excess, dropped

    def _evict(self, count: int, keep: str | None = None) -> list[Session]:
        """Drop up to ``count`` sessions: closed pages first, then idle ones, longest unseen first."""
        if count <= 0:
            return []
        now = self.clock()
        closed = [s for s in self._sessions if s != keep and now - self._seen[s] > self.closed_after]
        idle = [s for s in self._sessions if s != keep and s not in closed and now - self._used[s] > self.idle_after]
        victims = sorted(closed, key=self._seen.__getitem__) + sorted(idle, key=self._used.__getitem__)
        dropped = []
        for sid in victims[:count]:
            dropped.append(self._sessions.pop(sid))
            del self._seen[sid], self._used[sid]
        return dropped

    def drop(self, sid: str) -> None:
        """Forget the session ``sid`` and release its models."""
        with self._lock:
            session = self._sessions.pop(sid, None)
            self._seen.pop(sid, None)
            self._used.pop(sid, None)
        if session is not None:
            session.close()

    def __contains__(self, sid: str) -> bool:
        return sid in self._sessions

    def __len__(self) -> int:
        return len(self._sessions)
