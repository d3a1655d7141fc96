"""The model's vocabulary: traits, domains, pillars, roles, the phases of the Kreislauf and how cooperations end.

Everything else in :mod:`sim` speaks in these terms; this module depends on
nothing else in the package. The phases and their legal transitions are
written down once, here (seed 001, "Kreislauf des Vertrauens")::

    NEEDS_ASSESSMENT -> PARTNER_SEARCH -> STRUCTURE -> RELATIONSHIP -> EVALUATION
                                                          ^                |
                                                          +--- continue ---+
    every phase -> ENDED (exit after evaluation, no partner found, need
                          vanished, partner left the market)

Examples
--------
>>> Phase.EVALUATION in TRANSITIONS[Phase.RELATIONSHIP]
True
>>> Reason.LOW_TRUST.label
'trust fell below the exit threshold'
>>> str(OUTCOME_OF[Reason.PARTNER_LEFT])
'dissolved'
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Literal, get_args

__all__ = [
    "BENEVOLENCE",
    "COMPETENCE",
    "DIGITAL",
    "DOMAINS",
    "EXIT_REASONS",
    "INTEGRITY",
    "LIVE_PHASES",
    "OUTCOME_OF",
    "PILLARS",
    "PRODUCER",
    "PROPENSITY",
    "SERVICE",
    "TRAITS",
    "TRANSITIONS",
    "Domain",
    "Outcome",
    "Phase",
    "Pillar",
    "Reason",
    "Role",
    "Trait",
]

#: Capability domains of a firm; ``digital`` is its digital maturity.
Domain = Literal["production", "engineering", "digital", "administration", "marketing"]
Trait = Literal["competence", "integrity", "benevolence", "propensity"]
Pillar = Literal["competence", "integrity", "benevolence"]
Role = Literal["producer", "service"]

DOMAINS: tuple[Domain, ...] = get_args(Domain)
#: Traits of a firm in [0, 1]: the three pillars of trust and the propensity to trust.
TRAITS: tuple[Trait, ...] = get_args(Trait)
#: The three pillars of trust (Mayer, Davis & Schoorman 1995), in the column order of the evidence.
PILLARS: tuple[Pillar, ...] = get_args(Pillar)

#: Column of each trait in the firms' trait array.
COMPETENCE, INTEGRITY, BENEVOLENCE, PROPENSITY = (TRAITS.index(t) for t in TRAITS)
#: Column of digital maturity in the firms' capability array.
DIGITAL = DOMAINS.index("digital")
#: Codes of the two roles in the firms' role array.
PRODUCER, SERVICE = 0, 1


class Phase(IntEnum):
    """The phases of a cooperation (the Kreislauf), plus its end."""

    NEEDS_ASSESSMENT = 0
    PARTNER_SEARCH = 1
    STRUCTURE = 2
    RELATIONSHIP = 3
    EVALUATION = 4
    ENDED = 5

    @property
    def label(self) -> str:
        """Plain-language name, e.g. 'partner search'."""
        return self.name.lower().replace("_", " ")


#: The legal transitions, written once.
TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.NEEDS_ASSESSMENT: frozenset({Phase.PARTNER_SEARCH, Phase.ENDED}),
    Phase.PARTNER_SEARCH: frozenset({Phase.STRUCTURE, Phase.ENDED}),
    Phase.STRUCTURE: frozenset({Phase.RELATIONSHIP, Phase.ENDED}),
    Phase.RELATIONSHIP: frozenset({Phase.EVALUATION, Phase.ENDED}),
    Phase.EVALUATION: frozenset({Phase.RELATIONSHIP, Phase.ENDED}),
    Phase.ENDED: frozenset(),
}

#: Phases in which a cooperation has two partners and is an edge of the network.
LIVE_PHASES: tuple[Phase, ...] = (Phase.STRUCTURE, Phase.RELATIONSHIP, Phase.EVALUATION)


class Outcome(StrEnum):
    """How a cooperation stands in the log."""

    ONGOING = "ongoing"  # running at the end of the run, not yet evaluated
    CONTINUE = "continue"  # running at the end of the run; its last evaluation said continue
    EXIT = "exit"  # ended by a partner at evaluation
    NO_PARTNER = "no_partner"  # ended before a partner agreed
    DISSOLVED = "dissolved"  # ended by an outside event (a partner left the market...)


class Reason(IntEnum):
    """Why a cooperation ended (0: it did not)."""

    NONE = 0
    LOW_TRUST = 1
    LOW_VALUE = 2
    GOAL_REACHED = 3
    CULTURE = 4
    NEED_VANISHED = 5
    NO_PARTNER = 6
    PARTNER_LEFT = 7
    SERVICES_REMOVED = 8
    LEFT_GROUP = 9

    @property
    def label(self) -> str:
        """Plain-language reason."""
        return _REASON_LABELS[self]


_REASON_LABELS = {
    Reason.NONE: "",
    Reason.LOW_TRUST: "trust fell below the exit threshold",
    Reason.LOW_VALUE: "net benefit fell short of expectations",
    Reason.GOAL_REACHED: "goal reached: nothing left to gain from the partner",
    Reason.CULTURE: "cultures did not fit",
    Reason.NEED_VANISHED: "the need vanished before the search",
    Reason.NO_PARTNER: "no suitable partner agreed",
    Reason.PARTNER_LEFT: "a firm in it left the market",
    Reason.SERVICES_REMOVED: "shared services were removed",
    Reason.LEFT_GROUP: "a member left the group",
}

#: Reasons a partner may give for leaving at evaluation.
EXIT_REASONS: tuple[Reason, ...] = (Reason.LOW_TRUST, Reason.LOW_VALUE, Reason.GOAL_REACHED, Reason.CULTURE)

#: Outcome recorded for each reason a cooperation ends.
OUTCOME_OF = {
    Reason.LOW_TRUST: Outcome.EXIT,
    Reason.LOW_VALUE: Outcome.EXIT,
    Reason.GOAL_REACHED: Outcome.EXIT,
    Reason.CULTURE: Outcome.EXIT,
    Reason.NEED_VANISHED: Outcome.NO_PARTNER,
    Reason.NO_PARTNER: Outcome.NO_PARTNER,
    Reason.PARTNER_LEFT: Outcome.DISSOLVED,
    Reason.SERVICES_REMOVED: Outcome.DISSOLVED,
    Reason.LEFT_GROUP: Outcome.DISSOLVED,
}
