r"""Trust: beta-reputation evidence per pillar of the ABI model.

A firm never sees a partner's competence, integrity or benevolence. It holds
evidence about each firm it knows: per pillar ``p``, a count of positive
observations :math:`r_p` and of negative ones :math:`s_p` (Jøsang & Ismail
2002). Its expectation of the pillar starts from its own trust propensity
:math:`\pi` (Mayer, Davis & Schoorman 1995) weighted as :math:`k`
pseudo-observations:

.. math::

    E_p = \frac{\pi k + r_p + w R_p}{k + r_p + s_p + w (R_p + S_p)}

where :math:`r_p, s_p` add up what the firm saw itself and what partners
told it, :math:`R_p, S_p` is what the group community has seen of the other
firm (campus, community meetings, shared data: the members' observations,
each weighted by one over the number of other members, so the community
carries about as much evidence as one typical member) and :math:`w` the
group's information sharing (zero outside a group). Overall trust is the
weighted mean of the three :math:`E_p`, so it always lies in [0, 1].

Observations: competence from the competence the partner shows in its work
(its competence plus noise, a number in [0, 1] split between :math:`r` and
:math:`s`; a broken promise is integrity's evidence, not competence's),
integrity from kept (+1 to :math:`r`) or broken (+ν to :math:`s`) agreements,
benevolence from fair (+1) or grabbing (+ν) division of value; ν ≥ 1 is the
negativity weight (Slovic 1993). Every month all evidence is multiplied by the
forgetting factor λ, so old evidence fades toward the prior. Reputation
travels: at each evaluation a firm tells its other partners what it saw of
the partner itself; each listener's hearsay about that firm moves a share γ
of the way toward the teller's own evidence. Only first-hand evidence is
passed on, and hearsay is a blend rather than a sum, so rumours cannot
inflate evidence however often they are retold.

Evidence is stored sparsely, one row per ordered pair of firms that know each
other, because a market of 10,000 firms has 10^8 pairs but only tens of
thousands of acquaintances.
"""

from __future__ import annotations

import numpy as np

from sim.kernels import add_evidence, add_rows, distinct, pillars, set_rows
from sim.scenario import Trust
from sim.state.firms import FirmTable
from sim.state.pairs import SortedIndex, ordered
from sim.vocabulary import PILLARS, PROPENSITY

__all__ = ["TrustLedger"]


class TrustLedger:
    """Sparse beta evidence of every firm about every firm it knows.

    Parameters
    ----------
    params : Trust
        Scenario trust parameters.
    firms : FirmTable
        Gives the owners' propensities and group membership.
    information_sharing : float
        Weight of the group community's evidence in members' trust (0 without a group).
    """

    def __init__(self, params: Trust, firms: FirmTable, information_sharing: float = 0.0) -> None:
        self.params = params
        self.firms = firms
        self.sharing = information_sharing
        weights = np.array([params.weights[p] for p in PILLARS])
        self.weights = weights / weights.sum()
        self.n = 0
        # Per row: positive evidence of the three pillars, then negative; first
        # all the owner goes by (first-hand and hearsay, ``evidence``), then
        # first-hand only (``own``, what it tells others). One array, so an
        # observation updates both halves with one indexed add.
        self.book = np.zeros((256, 12))
        self.owner = np.zeros(256, dtype=np.int64)
        self.subject = np.zeros(256, dtype=np.int64)
        self.index = SortedIndex()  # (owner, subject) -> row
        # Per firm: what the group community has seen of it, three positive counts, then three negative.
        self.community = np.zeros((64, 6))
        # Generalised trust (sim.group.update_climate): the share of their trust
        # that members keep while the community's climate is below its start.
        self.climate_at_start = float("nan")
        self.kept_by_members = 1.0

    # -- storage -------------------------------------------------------------

    @property
    def evidence(self) -> np.ndarray:
        """Belief evidence per row, ``(rows, 6)``: first-hand plus hearsay (a view of ``book``)."""
        return self.book[:, :6]

    @property
    def own(self) -> np.ndarray:
        """First-hand evidence per row, ``(rows, 6)``: what the owner tells others (a view of ``book``)."""
        return self.book[:, 6:]

    @property
    def community_r(self) -> np.ndarray:
        """The community's positive evidence per firm, ``(firms, 3)`` (a view of ``community``)."""
        return self.community[:, :3]

    @property
    def community_s(self) -> np.ndarray:
        """The community's negative evidence per firm, ``(firms, 3)`` (a view of ``community``)."""
        return self.community[:, 3:]

    def _grow_firms(self) -> None:
        n = self.firms.n
        if self.community.shape[0] < n:
            new = np.zeros((max(2 * self.community.shape[0], n), 6))
            new[: self.community.shape[0]] = self.community
            self.community = new

    def slot(self, owner: int, subject: int) -> int:
        """Row of the evidence of ``owner`` about ``subject``, created empty if new."""
        return int(self.slots(np.array([owner]), np.array([subject]))[0])

    def slots(self, owners: np.ndarray, subjects: np.ndarray) -> np.ndarray:
        """Rows of the evidence of each owner about each subject, created empty where new."""
        rows, _, where = self._distinct_slots(owners, subjects)
        return rows[where]

    def _distinct_slots(self, owners: np.ndarray, subjects: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`slots` of the distinct (owner, subject) pairs, in key order.

        Returns the rows of the distinct pairs, the position of each one's
        first occurrence and the distinct pair of each query (as
        :func:`sim.kernels.distinct`). New rows are numbered in key order.
        """
        owners = np.asarray(owners, dtype=np.int64)
        subjects = np.asarray(subjects, dtype=np.int64)
        keys, first, where = distinct(ordered(owners, subjects))
        rows = self.index.find(keys)
        missing = rows < 0
        if missing.any():
            new_owners, new_subjects = owners[first[missing]], subjects[first[missing]]
            m = len(new_owners)
            if self.n + m > self.book.shape[0]:
                size = max(2 * self.book.shape[0], self.n + m)
                for name in ("book", "owner", "subject"):
                    old = getattr(self, name)
                    new = np.zeros((size, *old.shape[1:]), dtype=old.dtype)
                    new[: self.n] = old[: self.n]
                    setattr(self, name, new)
            self._grow_firms()
            made = np.arange(self.n, self.n + m)
            self.owner[made], self.subject[made] = new_owners, new_subjects
            self.n += m
            rows[missing] = made
            self.index.insert(keys[missing], made)
        return rows, first, where

    def known(self, owner: int) -> list[int]:
        """Firms ``owner`` holds evidence about (its contacts), in index order."""
        return self.contact_pairs(np.array([owner]))[1].tolist()

    # -- reading ---------------------------------------------------------------

    def pillars(self, owners: np.ndarray, subjects: np.ndarray) -> np.ndarray:
        """Expected competence, integrity and benevolence, shape ``(m, 3)``.

        Pairs without evidence get the owner's propensity (plus, for group
        members, what the community knows).
        """
        owners = np.asarray(owners, dtype=np.int64)
        subjects = np.asarray(subjects, dtype=np.int64)
        self._grow_firms()
        return self.pillars_at(owners, subjects, self.rows_of(owners, subjects))

    def rows_of(self, owners: np.ndarray, subjects: np.ndarray) -> np.ndarray:
        """Evidence rows of many (owner, subject) pairs at once; -1 where there is none."""
        return self.index.find(ordered(owners, subjects))

    def contact_pairs(self, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The firms each owner holds evidence about, as (position in ``owners``, firm) pairs.

        Ordered by owner position, then by firm index.
        """
        which, rows = self.index.with_first(owners)
        return which, self.subject[rows]

    def pillars_at(self, owners: np.ndarray, subjects: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """As :meth:`pillars`, with the evidence rows already known (-1 for none).

        The formula is :func:`sim.kernels.pillars_numpy`'s (and the module's).
        """
        return pillars(
            self.book,
            np.asarray(rows, dtype=np.int64),
            np.asarray(owners, dtype=np.int64),
            np.asarray(subjects, dtype=np.int64),
            self.firms.traits[:, PROPENSITY],
            self.firms.member,
            self.community,
            float(self.params.prior_strength),
            float(self.sharing),
            float(self.kept_by_members),
        )

    def trust(self, owners: np.ndarray, subjects: np.ndarray) -> np.ndarray:
        """Overall trust in [0, 1]: the weighted mean of the three pillars."""
        return self.pillars(owners, subjects) @ self.weights

    def trust_at(self, owners: np.ndarray, subjects: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Overall trust with known evidence rows."""
        return self.pillars_at(owners, subjects, rows) @ self.weights

    # -- writing ----------------------------------------------------------------

    def observe(self, rows: np.ndarray, subjects: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> None:
        """Add observations (shape ``(m, 3)`` each) to the given evidence rows.

        Observations by group members also enter the community's evidence
        about the subject, each weighted by one over the number of other
        members (the community speaks with one typical member's voice).
        Each row appears at most once (one cooperation per pair of firms).
        """
        self.observe_pillars(
            rows, subjects, tuple(positive[:, p] for p in range(3)), tuple(negative[:, p] for p in range(3))
        )

    def observe_pillars(
        self,
        rows: np.ndarray,
        subjects: np.ndarray,
        positive: tuple[np.ndarray, ...],
        negative: tuple[np.ndarray, ...],
    ) -> None:
        """As :meth:`observe`, with the observations given pillar by pillar (three arrays each)."""
        # The observations of each evidence column as one contiguous row (quick to fill).
        observed = np.empty((6, len(rows)))
        for j in range(3):
            observed[j], observed[3 + j] = positive[j], negative[j]
        add_evidence(self.book, np.asarray(rows, dtype=np.int64), observed)
        if self.sharing > 0:
            self._grow_firms()
            by_member = self.firms.member[self.owner[rows]]
            if by_member.any():
                n = self.firms.n
                others = max(1, int((self.firms.member[:n] & self.firms.alive[:n]).sum()) - 1)
                add_rows(self.community, subjects[by_member], observed[:, by_member].T / others)

    def seed_community(self, subjects: np.ndarray, months: float, p_break: np.ndarray, p_grab: np.ndarray) -> None:
        """Give the community ``months`` of shared history with each subject.

        The expected observations of that history are added, by the same
        rules as observations in a relationship: competence ``c`` adds ``c``
        and ``1 - c``; a firm breaking a month's agreement with probability
        ``p_break`` adds ``1 - p_break`` kept and ``p_break`` broken promises
        (weighted by the negativity weight), and likewise for grabs.
        """
        self._grow_firms()
        nu = self.params.negativity_weight
        competence = self.firms.traits[subjects, 0]
        self.community_r[subjects] += months * np.stack([competence, 1 - p_break, 1 - p_grab], axis=1)
        self.community_s[subjects] += months * np.stack([1 - competence, nu * p_break, nu * p_grab], axis=1)

    def gossip(self, told: np.ndarray, subjects: np.ndarray, listeners: np.ndarray) -> None:
        """``listeners[i]`` hears what the owner of evidence row ``told[i]`` saw of ``subjects[i]`` itself.

        The listener's hearsay moves the share ``gossip_weight`` of the way
        toward the teller's first-hand evidence. Tales about one firm told to
        one listener in the same month are heard together: it moves toward
        their mean, once.
        """
        src = np.asarray(told, dtype=np.int64)
        if not len(src):
            return
        heard, first, where = self._distinct_slots(listeners, subjects)
        if len(heard) == len(src):
            # Each listener hears of each subject once: the mean is the one
            # tale (0 + x and x / 1 are x; evidence is never -0.0).
            mean = self.book.take(src[first], axis=0)[:, 6:]
        else:
            tales = np.bincount(where, minlength=len(heard)).astype(float)[:, None]
            mean = np.zeros((len(heard), 6))
            add_rows(mean, where, self.book.take(src, axis=0)[:, 6:])
            mean = mean / tales
        book = self.book.take(heard, axis=0)
        belief, own = book[:, :6], book[:, 6:]
        book[:, :6] = belief + self.params.gossip_weight * (mean - (belief - own))
        set_rows(self.book, heard, book)

    def forget(self) -> None:
        """Fade all evidence by the forgetting factor (one month)."""
        lam = self.params.forgetting
        if lam < 1.0:
            self.book[: self.n] *= lam  # belief and first-hand alike
            self.community *= lam
