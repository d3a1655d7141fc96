"""The chronicle: what happened in the cycle of trust this month, in plain words.

A :class:`Chronicle` reads a model after each step and tells, one line per
happening, what the month brought: needs found, searches begun, partners
chosen and why, agreements made and set up, promises broken and value
grabbed, evaluations with their outcome and exits with their reasons, firms
leaving and entering, scheduled events. The live app's event feed shows these
lines; a notebook can print them.

It only reads the model's state (the cooperation table, the trust ledger, the
journal of scheduled events), comparing it with what it saw a month before,
so the model does no extra work when nobody is reading and the lines cannot
disagree with the measures.

Examples
--------
>>> from sim import CooperationModel
>>> from sim.observe.chronicle import Chronicle
>>> model = CooperationModel("classroom", seed=1)
>>> chronicle = Chronicle(model)
>>> for _ in range(3):
...     model.step()
...     month = chronicle.read()
>>> {entry.kind for entry in month} <= set(KINDS)
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sim.vocabulary import DOMAINS, EXIT_REASONS, Phase, Reason

if TYPE_CHECKING:
    from sim.observe import Observed

__all__ = ["KINDS", "PHASES", "Chronicle", "Entry"]

#: Kinds of entry, in the order of the month (events first, the market last).
#: Five are the phases of the cycle, as :class:`sim.state.cooperations.Phase` labels them.
KINDS: tuple[str, ...] = (
    "event",
    "needs assessment",
    "partner search",
    "structure",
    "relationship",
    "evaluation",
    "exit",
    "market",
)

#: The five phases of the cycle, as an entry's :attr:`Entry.phase` names them (the kinds of the same name).
PHASES: tuple[str, ...] = tuple(p.label for p in Phase if p is not Phase.ENDED)

#: Plain words for each capability domain, as a need.
_DOMAIN_WORDS = {
    "production": "production capacity",
    "engineering": "engineering know-how",
    "digital": "digital know-how",
    "administration": "administration",
    "marketing": "marketing",
}


@dataclass(frozen=True)
class Entry:
    """One line of the chronicle.

    Attributes
    ----------
    step : int
        The month it happened.
    kind : str
        One of :data:`KINDS`.
    text : str
        What happened, in a sentence.
    firms : tuple of int
        Indices of the firms it concerns (for highlighting).
    phase : str or None
        The phase of the cycle it belongs to, one of :data:`PHASES`: the kind
        itself for the five phases' kinds, ``"evaluation"`` for an exit after
        evaluation, the phase a cooperation was in when an outside event
        ended it; ``None`` for scheduled events and firms entering or leaving
        the market, which belong to no phase. Left out, it follows the kind.
    """

    step: int
    kind: str
    text: str
    firms: tuple[int, ...] = ()
    phase: str | None = field(default=None)

    def __post_init__(self) -> None:
        if self.phase is None and self.kind in PHASES:
            object.__setattr__(self, "phase", self.kind)  # frozen: set once, here
        if self.phase is not None and self.phase not in PHASES:
            raise ValueError(f"phase = {self.phase!r}: must be one of {', '.join(PHASES)} or None")


class Chronicle:
    """Reads a model after each step and tells what the month brought.

    Parameters
    ----------
    model : CooperationModel
        The model to follow; read, never changed.
    limit : int
        Most lines of one sort a month (needs found, searches, agreements,
        broken agreements, grabs, evaluations, endings, market); the rest are
        summed up in one line (a market of thousands of firms has hundreds of
        happenings a month).
    """

    def __init__(self, model: Observed, limit: int = 40) -> None:
        self.model = model
        self.limit = limit
        t = model.kreislauf.table
        self._broken = t.broken[: t.n].copy()
        self._grabbed = t.grabbed[: t.n].copy()
        self._evaluations = t.evaluations[: t.n].copy()
        self._phases = t.phase[: t.n].copy()  # each cooperation's phase a month ago (for the phase of an ending)
        self._journal = len(model.journal)
        self._told = ""
        self._firms = model.firms.n
        self._left = set(np.flatnonzero(~model.firms.alive[: model.firms.n]).tolist())

    # ------------------------------------------------------------------

    def read(self) -> list[Entry]:
        """The lines of the month just stepped, in the order of the cycle.

        Returns
        -------
        list of Entry
            What happened since the last read (call once after each step).
        """
        model = self.model
        now = int(model.steps)
        t = model.kreislauf.table
        n = t.n
        # Bring the snapshot arrays to the table's length (new rows start at zero).
        broken, grabbed, evaluations = t.broken[:n].copy(), t.grabbed[:n].copy(), t.evaluations[:n].copy()
        prev_broken, prev_grabbed, prev_evals = (
            _padded(self._broken, n),
            _padded(self._grabbed, n),
            _padded(self._evaluations, n),
        )

        entries: list[Entry] = []
        entries += self._events(now)
        entries += self._needs(now, n)
        entries += self._searches(now, n)
        entries += self._agreements(now, n)
        entries += self._set_up(now, n)
        entries += self._deeds(now, broken > prev_broken, "breaks its agreement with")
        entries += self._deeds(now, grabbed > prev_grabbed, "grabs more than its fair share of the value from")
        entries += self._evaluations_due(now, n)
        entries += self._evaluations_of(now, n, evaluations > prev_evals)
        entries += self._endings(now, n)
        entries += self._market(now)

        self._broken, self._grabbed, self._evaluations = broken, grabbed, evaluations
        self._phases = t.phase[:n].copy()
        return entries

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------

    def _name(self, i: int) -> str:
        return self.model.firms.names[int(i)]

    def _names(self, i: int) -> str:
        """The possessive: "Metrolux's", "B.I.G. Corporate Services'"."""
        name = self._name(i)
        return f"{name}'" if name.endswith("s") else f"{name}'s"

    def _capped(self, kind: str, now: int, lines: list[Entry], what: str) -> list[Entry]:
        """At most :attr:`limit` lines; the rest as one line that counts them."""
        if len(lines) <= self.limit:
            return lines
        rest = len(lines) - self.limit
        phases = {e.phase for e in lines[self.limit :]}
        phase = phases.pop() if len(phases) == 1 else None  # the phase of the lines it counts, if they share one
        return [*lines[: self.limit], Entry(now, kind, f"... and {rest} more {what}", (), phase)]

    def _phase_before(self, cid: int) -> str:
        """The phase a cooperation was in at the last read (one opened since then: needs assessment)."""
        if cid >= len(self._phases):
            return Phase.NEEDS_ASSESSMENT.label
        return Phase(int(self._phases[cid])).label

    def _trust(self, owner: int, subject: int) -> float:
        return float(self.model.ledger.trust(np.array([owner]), np.array([subject]))[0])

    @staticmethod
    def _needs_words(gap: np.ndarray) -> str:
        """The largest gaps of a requirements profile, in words."""
        order = [int(k) for k in np.argsort(-gap, kind="stable") if gap[k] > 0][:2]
        if not order:
            return "nothing in particular"
        return " and ".join(_DOMAIN_WORDS[DOMAINS[k]] for k in order)

    # ------------------------------------------------------------------
    # the month, in the order of the cycle
    # ------------------------------------------------------------------

    def _events(self, now: int) -> list[Entry]:
        journal = self.model.journal
        new = journal[self._journal :]
        self._journal = len(journal)
        events = [Entry(step, "event", text) for step, kind, text in new if kind == "event"]
        self._told = " ".join(e.text for e in events)  # firms an event names are not told again as the market's
        return events

    def _needs(self, now: int, n: int) -> list[Entry]:
        t, model = self.model.kreislauf.table, self.model
        ids = np.flatnonzero((t.started[:n] == now) & (t.phase[:n] == Phase.NEEDS_ASSESSMENT))
        if not len(ids):
            return []
        kl = model.kreislauf
        gaps = np.clip(kl.needs_now() - kl.effective_capabilities(), 0.0, None)
        lines = [
            Entry(
                now,
                "needs assessment",
                f"{self._name(a)} lacks {self._needs_words(gaps[a])} and starts a needs assessment",
                (int(a),),
            )
            for a in t.a[ids].tolist()
        ]
        return self._capped("needs assessment", now, lines, "needs found")

    def _searches(self, now: int, n: int) -> list[Entry]:
        t = self.model.kreislauf.table
        ids = np.flatnonzero((t.phase[:n] == Phase.PARTNER_SEARCH) & (t.since[:n] == now) & ~t.service[:n])
        lines = []
        for cid in ids.tolist():
            a = int(t.a[cid])
            how = (
                "among the firms it already knows (familiarity bias)"
                if t.familiar[cid]
                else "with a requirements profile"
            )
            lines.append(
                Entry(
                    now,
                    "partner search",
                    f"{self._name(a)} starts a partner search for {self._needs_words(t.gap[cid])} {how}",
                    (a,),
                )
            )
        return self._capped("partner search", now, lines, "searches")

    def _agreements(self, now: int, n: int) -> list[Entry]:
        t = self.model.kreislauf.table
        # Agreed this month: entered the structure phase now (shared-service contracts are made by the scenario).
        agreed = np.flatnonzero((t.phase[:n] == Phase.STRUCTURE) & (t.since[:n] == now) & ~t.service[:n])
        lines = []
        for cid in agreed.tolist():
            a, b = int(t.a[cid]), int(t.b[cid])
            if t.familiar[cid]:
                why = "a firm it already knows, picked in haste"
            else:
                screened = int(t.screened[cid])
                why = (
                    "the only candidate screened"
                    if screened == 1
                    else f"the best-ranked of {screened} candidates screened that agreed"
                )
            terms = (
                f"transparency {t.transparency[cid]:.2f}, contract {t.contract[cid]:.2f}, "
                f"set-up until month {int(t.setup_until[cid])}"
            )
            rival = "; they are competitors" if t.competitor[cid] else ""
            lines.append(
                Entry(
                    now,
                    "structure",
                    f"{self._name(a)} chooses {self._name(b)} as partner ({why}; it covers "
                    f"{100 * t.fit[cid, 0]:.0f}% of the needs{rival}); both agree: {terms}",
                    (a, b),
                )
            )
        return self._capped("structure", now, lines, "agreements")

    def _pair_lines(
        self, now: int, kind: str, ids: np.ndarray, text: Callable[[int, int, int], str], what: str
    ) -> list[Entry]:
        """One line per cooperation in ``ids``, about both partners: ``text(a, b, cooperation)``."""
        t = self.model.kreislauf.table
        lines = [
            Entry(now, kind, text(a, b, cid), (a, b))
            for cid, a, b in zip(ids.tolist(), t.a[ids].tolist(), t.b[ids].tolist(), strict=True)
        ]
        return self._capped(kind, now, lines, what)

    def _set_up(self, now: int, n: int) -> list[Entry]:
        t = self.model.kreislauf.table
        ids = np.flatnonzero(
            (t.phase[:n] == Phase.RELATIONSHIP) & (t.since[:n] == now) & (t.evaluations[:n] == 0) & ~t.service[:n]
        )
        return self._pair_lines(
            now,
            "relationship",
            ids,
            lambda a, b, cid: (
                f"{self._name(a)} and {self._name(b)} have set up their cooperation and start "
                f"working together; first evaluation in month {int(t.due[cid])}"
            ),
            "cooperations started",
        )

    def _deeds(self, now: int, did: np.ndarray, verb: str) -> list[Entry]:
        """Broken promises or grabbed value this month: ``did[c, side]`` says who did it."""
        t = self.model.kreislauf.table
        lines = []
        for cid, side in zip(*np.nonzero(did), strict=True):
            pair = (int(t.a[cid]), int(t.b[cid]))
            doer, victim = pair[side], pair[1 - side]
            lines.append(
                Entry(
                    now,
                    "relationship",
                    f"{self._name(doer)} {verb} {self._name(victim)}; "
                    f"{self._names(victim)} trust in it is now {self._trust(victim, doer):.2f}",
                    (doer, victim),
                )
            )
        return self._capped("relationship", now, lines, "broken agreements or grabs")

    def _evaluations_due(self, now: int, n: int) -> list[Entry]:
        t = self.model.kreislauf.table
        ids = np.flatnonzero((t.phase[:n] == Phase.EVALUATION) & (t.since[:n] == now))
        return self._pair_lines(
            now,
            "evaluation",
            ids,
            lambda a, b, cid: (
                f"{self._name(a)} and {self._name(b)} reach their agreed evaluation date: "
                "each weighs realised against expected benefit, trust and culture fit"
            ),
            "evaluations due",
        )

    def _evaluations_of(self, now: int, n: int, evaluated: np.ndarray) -> list[Entry]:
        t = self.model.kreislauf.table
        stay = np.flatnonzero(evaluated & (t.phase[:n] == Phase.RELATIONSHIP))
        return self._pair_lines(
            now,
            "evaluation",
            stay,
            lambda a, b, cid: (
                f"{self._name(a)} and {self._name(b)} evaluate their cooperation and continue "
                f"(trust {0.5 * (self._trust(a, b) + self._trust(b, a)):.2f}); next evaluation in month {int(t.due[cid])}"
            ),
            "cooperations continued",
        )

    def _endings(self, now: int, n: int) -> list[Entry]:
        t = self.model.kreislauf.table
        ids = np.flatnonzero((t.phase[:n] == Phase.ENDED) & (t.ended[:n] == now))
        lines = []
        for cid in ids.tolist():
            a, b, reason = int(t.a[cid]), int(t.b[cid]), Reason(int(t.reason[cid]))
            if reason in EXIT_REASONS:
                by = int(t.exited_by[cid])
                other = b if by == a else a
                detail = f"{self._name(by)} leaves: {reason.label}"
                if reason is Reason.LOW_TRUST:
                    detail = f"{self._names(by)} trust in {self._name(other)} fell to {self._trust(by, other):.2f}"
                text = f"{self._name(a)} and {self._name(b)} end their cooperation after evaluation: {detail}"
                lines.append(Entry(now, "exit", text, (a, b), Phase.EVALUATION.label))
            elif reason is Reason.NO_PARTNER:
                where = (
                    "among the firms it knows"
                    if t.familiar[cid]
                    else f"among {_count(int(t.screened[cid]), 'candidate')} screened"
                )
                text = f"{self._name(a)} finds no partner who agrees {where}"
                lines.append(Entry(now, "partner search", text, (a,)))
            elif reason is Reason.NEED_VANISHED:
                lines.append(Entry(now, "needs assessment", f"{self._names(a)} need has vanished", (a,)))
            elif b >= 0:  # dissolved by an outside event, in the phase it had reached
                text = f"the cooperation of {self._name(a)} and {self._name(b)} ends: {reason.label}"
                lines.append(Entry(now, "exit", text, (a, b), self._phase_before(cid)))
        return self._capped("exit", now, lines, "cooperations ended")

    def _market(self, now: int) -> list[Entry]:
        firms = self.model.firms
        left = [int(i) for i in np.flatnonzero(firms.left[: firms.n] == now) if int(i) not in self._left]
        self._left.update(left)
        left = [i for i in left if f"{self._name(i)} leaves" not in self._told]
        lines = [
            Entry(
                now,
                "market",
                f"{self._name(i)} "
                + ("runs out of capital and leaves the market" if firms.capital[i] < 0 else "leaves the market"),
                (i,),
            )
            for i in left
        ]
        entrants = [
            i
            for i in range(self._firms, firms.n)
            if int(firms.entered[i]) == now and f"{self._name(i)} joins" not in self._told
        ]
        self._firms = firms.n
        lines += [Entry(now, "market", f"{self._name(i)} enters the market", (i,)) for i in entrants]
        return self._capped("market", now, lines, "firms entering or leaving")


def _padded(seen: np.ndarray, n: int) -> np.ndarray:
    """A snapshot of the first rows of a table column, padded with zeros to ``n`` rows."""
    if len(seen) == n:
        return seen
    pad = np.zeros((n - len(seen), *seen.shape[1:]), dtype=seen.dtype)
    return np.concatenate([seen, pad])


def _count(n: int, noun: str) -> str:
    """'1 candidate', '14 candidates'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
