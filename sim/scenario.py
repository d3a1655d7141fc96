"""Scenario files: the strict, validated description of one model world.

A scenario is a TOML file (see ``scenarios/``) loaded into the frozen
:class:`Scenario` object defined here. Every parameter of the model lives in
this schema, with its default and the reason for that default in the field's
description; ``docs/scenarios.md`` is generated from it
(``kreislauf scenarios --reference > docs/scenarios.md``).

Loading never lets a mistake pass silently: unknown keys, wrong types, NaN,
values out of range and absurd sizes all raise :class:`ScenarioError`, which
names the file, the key path, the value and what is allowed. The command line
turns it into exit code 2 and one line of text.

Examples
--------
>>> from sim.scenario import load_scenario
>>> big = load_scenario("big")
>>> big.name, len(big.firms)
('big', 10)
>>> big.with_overrides({"kreislauf.familiarity_bias": 0.9}).kreislauf.familiarity_bias
0.9
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

__all__ = [
    "DOMAINS",
    "MAX_FIRMS",
    "TRAITS",
    "Scenario",
    "ScenarioError",
    "builtin_scenarios",
    "load_scenario",
]

#: Capability domains of a firm; ``digital`` is its digital maturity.
Domain = Literal["production", "engineering", "digital", "administration", "marketing"]
Trait = Literal["competence", "integrity", "benevolence", "propensity"]
Pillar = Literal["competence", "integrity", "benevolence"]
Role = Literal["producer", "service"]

DOMAINS: tuple[Domain, ...] = get_args(Domain)
#: Traits of a firm in [0, 1]: the three pillars of trust and the propensity to trust.
TRAITS: tuple[Trait, ...] = get_args(Trait)
#: Upper bound on firms in one scenario (initial plus scheduled); beyond it loading fails fast.
MAX_FIRMS = 200_000
#: Upper bound on the horizon, in months.
MAX_STEPS = 100_000

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Money = Annotated[float, Field(ge=0.0, le=1e6)]


class ScenarioError(ValueError):
    """A scenario (or sweep, or override) that the model cannot accept.

    Parameters
    ----------
    source : str
        The file (or ``"override"``, or ``"<scenario>"``) the value came from.
    path : str
        Dotted key path inside the file, e.g. ``populations[0].count``.
    value : object
        The offending value (``...`` when there is none, e.g. a missing key).
    allowed : str
        What would have been accepted, in plain words.
    """

    def __init__(self, source: str, path: str, value: Any, allowed: str) -> None:
        self.source, self.path, self.value, self.allowed = source, path, value, allowed
        shown = "" if value is ... else f" = {_short(value)}"
        where = f"{path}{shown}: " if path else ""
        super().__init__(f"{source}: {where}{allowed}")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Section(BaseModel):
    """Base of every schema section: strict types, unknown keys rejected, frozen, no NaN."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# ---------------------------------------------------------------------------
# Distributions
# ---------------------------------------------------------------------------


class UnitDistribution(Section):
    """A quantity in [0, 1] drawn from a Beta distribution given by its mean and sd."""

    mean: Unit = Field(description="Mean of the Beta distribution.")
    sd: float = Field(0.0, ge=0.0, le=0.5, description="Standard deviation; 0 gives the mean for every firm.")

    @model_validator(mode="after")
    def _feasible(self) -> UnitDistribution:
        if self.sd > 0 and self.sd**2 >= self.mean * (1 - self.mean):
            limit = math.sqrt(self.mean * (1 - self.mean))
            raise ValueError(f"sd must be below sqrt(mean*(1-mean)) = {limit:.3f} for a Beta distribution")
        return self


class SizeDistribution(Section):
    """Firm size in employees: log-normal, truncated to [min, max]."""

    median: float = Field(
        20.0,
        gt=0,
        le=1e6,
        description="Median employees. Default 20: the typical German SME is small (Destatis: most SMEs have under 50 employees).",
    )
    sigma: float = Field(
        1.0,
        ge=0,
        le=5,
        description="Log-scale spread. Default 1.0: a wide spread among SMEs. Assumption: the log-normal is a common approximation of size distributions (Gibrat's law); over all firms the upper tail is heavier, a Zipf law (Axtell 2001).",
    )
    min: float = Field(1.0, gt=0, le=1e6, description="Smallest firm.")
    max: float = Field(250.0, gt=0, le=1e6, description="Largest firm. Default 250: the EU ceiling of an SME.")

    @model_validator(mode="after")
    def _ordered(self) -> SizeDistribution:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


def default_capabilities() -> dict[Domain, UnitDistribution]:
    """Capability distributions of generated firms where a population gives none."""
    # Assumption: generated firms are middling in every domain, digital lowest
    # (the seeds: the first Industrie 4.0 step is the hardest hurdle for SMEs).
    levels: dict[Domain, float] = {
        "production": 0.6,
        "engineering": 0.5,
        "digital": 0.3,
        "administration": 0.45,
        "marketing": 0.45,
    }
    return {d: UnitDistribution(mean=m, sd=0.15) for d, m in levels.items()}


#: Default needs by role: the capability level a firm wants in each domain.
#: Assumption: producers aim to lead a niche (seed 000), so they want strong
#: production and engineering, good digital maturity, and a solid
#: administrative and marketing base.
DEFAULT_NEEDS: dict[Role, dict[Domain, float]] = {
    "producer": {"production": 0.85, "engineering": 0.85, "digital": 0.7, "administration": 0.6, "marketing": 0.6},
    # Service firms do not search for partners: they serve group members by contract.
    "service": {"production": 0.0, "engineering": 0.0, "digital": 0.0, "administration": 0.0, "marketing": 0.0},
}


class Population(Section):
    """Generated firms: counts and trait distributions."""

    name: str = Field(
        min_length=1, max_length=60, description="Label of this population; generated firms are named '<name> <k>'."
    )
    count: int = Field(ge=0, le=MAX_FIRMS, description="Number of firms at step 0.")
    role: Role = Field(
        "producer", description="Producers sell in niches; service firms carry group members' overheads."
    )
    niches: list[str] | int = Field(
        description="Niches to draw from uniformly: a list of names, or a number of new niches named '<name> niche <k>'.",
    )
    group: bool = Field(False, description="Whether these firms are members of the scenario's group.")
    location: Literal["dispersed", "campus"] = Field(
        "dispersed",
        description="Dispersed firms sit at uniform random points of the region; campus firms share the group's campus.",
    )
    size: SizeDistribution = Field(default_factory=SizeDistribution, description="Firm size in employees.")
    competence: UnitDistribution = Field(
        UnitDistribution(mean=0.6, sd=0.15), description="Ability to deliver. Assumption: middling with wide spread."
    )
    integrity: UnitDistribution = Field(
        UnitDistribution(mean=0.7, sd=0.15),
        description="Propensity to keep agreements. Assumption: most firms mostly keep their word.",
    )
    benevolence: UnitDistribution = Field(
        UnitDistribution(mean=0.6, sd=0.15),
        description="Propensity to share value fairly. Assumption: a little below integrity.",
    )
    propensity: UnitDistribution = Field(
        UnitDistribution(mean=0.5, sd=0.1),
        description="Trust propensity: prior trust in strangers (Mayer et al. 1995). Assumption: neutral.",
    )
    correlations: dict[str, Annotated[float, Field(ge=-0.95, le=0.95)]] = Field(
        default_factory=dict,
        description="Correlations between traits as 'trait~trait' = r, applied through a Gaussian copula, e.g. 'integrity~benevolence' = 0.5.",
    )
    capabilities: dict[Domain, UnitDistribution] = Field(
        default_factory=default_capabilities,
        description="Capability level per domain; missing domains take the defaults.",
    )
    needs: dict[Domain, Unit] | None = Field(
        None, description="Needed level per domain; domains left out take the role's default (see DEFAULT_NEEDS)."
    )
    culture: list[Unit] | None = Field(
        None, description="Centre of the firms' culture vectors; default: uniform over the culture space."
    )
    culture_spread: float = Field(
        0.25, ge=0, le=1, description="Spread (sd) of culture around its centre when a centre is given."
    )
    capacity: int | None = Field(
        None, ge=1, le=1000, description="Concurrent cooperations; default grows with size (see kreislauf.capacity_*)."
    )
    service_share: Unit = Field(
        0.0,
        description="Service firms: the share of a producer's relievable overhead each firm of this population carries.",
    )
    _niche_names: list[str] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> Population:
        for key in self.correlations:
            parts = key.split("~")
            if len(parts) != 2 or any(p not in TRAITS for p in parts) or parts[0] == parts[1]:
                raise ValueError(
                    f"correlation key {key!r} must be 'trait~trait' with two different traits of {list(TRAITS)}"
                )
        if isinstance(self.niches, int) and not 1 <= self.niches <= MAX_FIRMS:
            raise ValueError(f"niches must be a list of names or a count in [1, {MAX_FIRMS}]")
        if isinstance(self.niches, list) and not self.niches:
            raise ValueError("niches must not be empty")
        if self.location == "campus" and not self.group:
            raise ValueError("location 'campus' is the group's campus: set group = true, or use 'dispersed'")
        return self

    def niche_names(self) -> list[str]:
        """The niche names this population draws from (computed once: the population is frozen)."""
        if self._niche_names is None:
            if isinstance(self.niches, int):
                self._niche_names = [f"{self.name} niche {k + 1}" for k in range(self.niches)]
            else:
                self._niche_names = list(self.niches)
        return self._niche_names


class NamedFirm(Section):
    """One firm given by name, with its traits set by hand (e.g. a B.I.G. member)."""

    name: str = Field(min_length=1, max_length=80, description="Unique firm name.")
    role: Role = Field("producer", description="Producer or service firm.")
    niche: str = Field(min_length=1, description="The niche it sells in (service firms: a label of their service).")
    size: float = Field(gt=0, le=1e6, description="Employees.")
    competence: Unit
    integrity: Unit
    benevolence: Unit
    propensity: Unit
    capabilities: dict[Domain, Unit] = Field(description="Capability level per domain; all five domains required.")
    needs: dict[Domain, Unit] | None = Field(
        None, description="Needed level per domain; domains left out take the role's default."
    )
    capacity: int | None = Field(None, ge=1, le=1000, description="Concurrent cooperations; default grows with size.")
    group: bool = Field(False, description="Member of the scenario's group.")
    location: Literal["campus", "dispersed"] | list[Annotated[float, Field(ge=0, le=1e4)]] = Field(
        "dispersed", description="'campus', 'dispersed' (a random point) or [x, y] in km."
    )
    culture: list[Unit] | None = Field(
        None, description="Culture vector; default: the group's culture for members, random otherwise."
    )
    service_share: Unit = Field(
        0.0, description="Service firms: the share of a producer's relievable overhead this firm carries."
    )

    @model_validator(mode="after")
    def _check(self) -> NamedFirm:
        missing = [d for d in DOMAINS if d not in self.capabilities]
        if missing:
            raise ValueError(f"capabilities must give all of {list(DOMAINS)}; missing {missing}")
        if isinstance(self.location, list) and len(self.location) != 2:
            raise ValueError("location as coordinates must be [x, y]")
        if self.location == "campus" and not self.group:
            raise ValueError("location 'campus' is the group's campus: set group = true, or give 'dispersed' or [x, y]")
        return self


# ---------------------------------------------------------------------------
# Mechanism parameters
# ---------------------------------------------------------------------------


class Market(Section):
    """Niches, demand, costs, exit and entry (units: employees, months, k EUR)."""

    revenue_per_employee: Money = Field(
        12.0,
        description="Niche demand per employee of the firms initially in it, k EUR/month. Assumption: about 145 k EUR turnover per employee-year, the order of German manufacturing SMEs.",
    )
    cost_of_sales: Unit = Field(
        0.86,
        description="Cost of sales as a share of revenue (wages and material follow output). Assumption: a gross margin of 14% before overhead, of the order of German manufacturing SMEs.",
    )
    overhead_fixed: Money = Field(
        6.0,
        description="Fixed administrative overhead per firm, k EUR/month (controlling, compliance, accounting). Assumption: one part-time administrator; it is what makes a three-person firm like flying-parts fragile alone (seed 000).",
    )
    overhead_per_employee: Money = Field(
        0.9,
        description="Overhead per employee, k EUR/month. Assumption: administration, marketing and technical service near 7% of turnover.",
    )
    max_output: float = Field(
        1.5,
        ge=1,
        le=100,
        description="Most a producer can sell, as a multiple of its usual volume (revenue per employee times size at its product level): without it, survivors of a shake-out would absorb all of their rivals' customers at once. Assumption.",
    )
    digital_productivity: Unit = Field(
        0.5,
        description="Weight of digital maturity in a firm's productivity (its pull on niche demand). Assumption: Industrie 4.0 raises competitiveness (seed 000, section 2).",
    )
    initial_capital_months: float = Field(
        4.0,
        ge=0,
        le=120,
        description="Starting capital in months of revenue. Assumption: a thin reserve, as common for SMEs.",
    )
    insolvency_patience: int = Field(
        6,
        ge=1,
        le=1200,
        description="Months of negative capital before a firm leaves the market. Assumption: half a year of arrears.",
    )
    demand_growth: float = Field(
        0.0,
        ge=-0.5,
        le=0.5,
        description="Growth of every niche's demand per year. Default 0: a stationary market isolates the structures' effect.",
    )
    entry_rate: float = Field(
        0.0,
        ge=0,
        le=1000,
        description="Expected new firms per month (Poisson), drawn from the entry population. 0 in a closed group.",
    )
    entry_population: str | None = Field(
        None, description="Population that entrants are drawn from; default the first population."
    )
    region_km: float = Field(
        300.0,
        gt=0,
        le=1e4,
        description="Side of the square region where dispersed firms sit, km. Assumption: a German federal state.",
    )
    coordination_cost_per_100km: Money = Field(
        0.4,
        description="Coordination cost per cooperation-month per 100 km between partners, k EUR. Assumption: travel and meeting time; zero on one campus (seed 000: short paths on the Marzahn campus).",
    )


class Trust(Section):
    """Beta-reputation trust per pillar (Joesang & Ismail 2002) with an ABI prior (Mayer et al. 1995)."""

    prior_strength: float = Field(
        2.0,
        gt=0,
        le=100,
        description="Weight of the propensity prior in pseudo-observations. Default 2: the uniform prior of the beta reputation system.",
    )
    forgetting: float = Field(
        0.95,
        ge=0.5,
        le=1.0,
        description="Share of evidence kept per month (Joesang & Ismail's forgetting factor). Default 0.95: a half-life of about 13.5 months, so about a year's experience counts.",
    )
    negativity_weight: float = Field(
        2.0,
        ge=1.0,
        le=10.0,
        description="Weight of a broken promise or a grab against a kept one. Default 2: trust is easier destroyed than built (Slovic 1993).",
    )
    weights: dict[Pillar, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=lambda: dict.fromkeys(get_args(Pillar), 1 / 3),
        description="Weights of the three pillars in overall trust (normalised). Default equal: Mayer et al. 1995 give no ranking.",
    )
    observation_noise: float = Field(
        0.1, ge=0, le=1, description="Sd of the noise on an observed contribution's quality. Assumption."
    )
    acquaintances: int = Field(
        3,
        ge=0,
        le=1000,
        description="Contacts each firm knows at step 0 without any evidence (former colleagues, private ties), chosen at random: the familiar pool the guide warns about (seed 001 step 2). Assumption.",
    )
    gossip_weight: Unit = Field(
        0.3,
        description="At each evaluation a firm tells its other partners what it saw of the partner; their hearsay about that firm moves this share of the way toward what they were told (reputation through partners). Assumption.",
    )

    @model_validator(mode="after")
    def _weights(self) -> Trust:
        if set(self.weights) != {"competence", "integrity", "benevolence"} or sum(self.weights.values()) <= 0:
            raise ValueError("weights must give competence, integrity and benevolence with a positive sum")
        return self


class ScoreWeights(Section):
    """Weights of the partner-search score (requirements profile, seed 001 step 2)."""

    fit: float = Field(
        0.35,
        ge=0,
        le=10,
        description="Complementarity: the share of the searcher's gap the candidate covers (its portfolio fits my needs, seed 001).",
    )
    similarity: float = Field(
        0.15, ge=0, le=10, description="Similar size, digital maturity and culture (seed 001's criteria)."
    )
    experience: float = Field(0.05, ge=0, le=10, description="Cooperation experience of the candidate.")
    location: float = Field(0.10, ge=0, le=10, description="Nearness (seat, region).")
    trust: float = Field(0.35, ge=0, le=10, description="Perceived trustworthiness from evidence.")
    competitor_penalty: float = Field(
        0.3,
        ge=0,
        le=10,
        description="Score subtracted for a candidate in the searcher's own niche (competitors are risky partners).",
    )


class Kreislauf(Section):
    """Parameters of the five phases of the cycle of trust."""

    need_threshold: Unit = Field(0.1, description="Smallest gap in a domain that counts as a real need. Assumption.")
    partner_access: Unit = Field(
        0.9, description="Share of a partner's capability a firm can draw on through a cooperation. Assumption."
    )
    digital_need_growth: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Yearly rise of the digital need of every firm that has one (Industrie 4.0 keeps raising the bar, seed 000). Assumption.",
    )
    capacity_base: int = Field(2, ge=1, le=100, description="Concurrent cooperations of a one-person firm. Assumption.")
    capacity_per_decade: float = Field(
        1.5, ge=0, le=100, description="Extra concurrent cooperations per tenfold size. Assumption."
    )
    familiarity_bias: Unit = Field(
        0.3,
        description="Probability that a searcher picks among known contacts only, skipping the market search: the hasty choice the guide names as a frequent mistake (seed 001 step 2). Assumption.",
    )
    search_breadth: int = Field(15, ge=1, le=1000, description="Firms screened in a market search. Assumption.")
    search_steps: int = Field(
        2, ge=1, le=120, description="Months a market search takes (time spent on a requirements profile, seed 001)."
    )
    search_cost_per_candidate: Money = Field(0.2, description="Cost per screened firm, k EUR. Assumption.")
    max_proposals: int = Field(
        3, ge=1, le=100, description="Candidates asked in turn before the search fails. Assumption."
    )
    search_retry_steps: int = Field(
        6, ge=1, le=1200, description="Months a firm waits after a failed search before it searches again. Assumption."
    )
    score_weights: ScoreWeights = Field(default_factory=ScoreWeights, description="Weights of the candidate score.")
    setup_steps: int = Field(
        2, ge=1, le=120, description="Months to build the structure (agreement, roles); at least one. Assumption."
    )
    setup_cost: Money = Field(
        4.0,
        description="Cost per partner of building the structure, k EUR, before discounts. Assumption: a few person-days and a lawyer.",
    )
    campus_discount: Unit = Field(
        0.5, description="Share of set-up time and cost saved on a shared campus (short paths, seed 000)."
    )
    shared_services_discount: Unit = Field(
        0.3,
        description="Share of set-up cost saved when the group's service firms draft the agreement (shared services). Assumption.",
    )
    contract_base: Unit = Field(0.2, description="Contract degree (formal control) at full trust. Assumption.")
    contract_cost: Money = Field(
        0.5,
        description="Monthly monitoring cost per partner of a fully formal contract, k EUR. Assumption: a day of someone's time a month.",
    )
    contract_enforcement: Unit = Field(
        0.6, description="Share of breaches a full contract deters (trust versus control, seed 000). Assumption."
    )
    transparency_base: Unit = Field(
        0.3, description="Transparency granted to a stranger; rises with trust. Assumption."
    )
    competitor_caution: Unit = Field(
        0.5,
        description="Share of transparency withheld from a competitor (know-how is a precious resource, seed 000). Assumption.",
    )
    payback_months: int = Field(
        24,
        ge=1,
        le=1200,
        description="A partner agrees only if its expected monthly net benefit repays its set-up cost within this many months. Assumption: two years, a common payback horizon for SME investments.",
    )
    evaluation_period: int = Field(
        12,
        ge=1,
        le=1200,
        description="Months of relationship between evaluations, fixed in the agreement (seed 001 step 5); the evaluation itself takes a further month. Assumption: yearly.",
    )
    value_per_employee: Money = Field(
        2.0,
        description="Joint value per employee-month at full synergy, k EUR (scale: harmonic mean of the partners' sizes). Assumption: a typical cooperation adds one or two per cent of each partner's turnover, a strong one far more.",
    )
    baseline_synergy: Unit = Field(
        0.1, description="Synergy of any cooperation (joint purchasing, shared transport, seed 001 step 1). Assumption."
    )
    temptation: Unit = Field(
        0.4, description="Chance per month that a firm of zero integrity breaks the agreement. Assumption."
    )
    competitor_temptation: Unit = Field(
        0.3, description="Extra temptation between competitors (cooperation versus competition, seed 000). Assumption."
    )
    grab_temptation: Unit = Field(
        0.3, description="Chance per month that a firm of zero benevolence grabs more than its fair share. Assumption."
    )
    broken_delivery: Unit = Field(
        0.3,
        description="Share of its promised contribution a firm delivers in a month it breaks the agreement. Assumption.",
    )
    grab_share: float = Field(
        0.75, ge=0.5, le=1.0, description="Share of the joint value a grabbing firm takes. Assumption."
    )
    learning_rate: Unit = Field(
        0.03,
        description="Monthly share of a capability gap closed by learning from a partner, at full transparency. Assumption.",
    )
    culture_convergence: float = Field(
        0.02,
        ge=0,
        le=0.5,
        description="Monthly share of the culture distance each partner moves toward the other, so the distance closes by twice this (a shared culture, seed 001 step 4). Assumption.",
    )
    exit_trust: Unit = Field(
        0.4, description="At evaluation, a firm exits when its trust in the partner is below this. Assumption."
    )
    exit_value_ratio: float = Field(
        0.5,
        ge=0,
        le=10,
        description="At evaluation, a firm exits when its realised net benefit is below this share of the expected one (cost/benefit account, seed 001). Assumption.",
    )
    exit_culture_fit: Unit = Field(
        0.5,
        description="At evaluation, a firm exits when culture fit is below this ('culturally not a good enough fit', seed 000). Assumption.",
    )


class Group(Section):
    """A competition-free group of firms like the B.I.G. (seed 000, section 3)."""

    name: str = Field("B.I.G.", min_length=1, description="Display name.")
    campus: bool = Field(
        True, description="All members on one campus: no distance cost, cheaper set-up (seed 000: Berlin Marzahn)."
    )
    campus_location: list[Annotated[float, Field(ge=0, le=1e4)]] = Field(
        default_factory=lambda: [150.0, 150.0], description="Campus coordinates [x, y] in km."
    )
    shared_services: bool = Field(True, description="Service firms carry producers' overheads for a fee (seed 000).")
    overhead_relief: Unit = Field(
        0.7,
        description="Share of a producer's overhead the service firms can carry together. Assumption: controlling, compliance, marketing and technical service, not all of it.",
    )
    service_fee: Unit = Field(
        0.6,
        description="Fee as a share of the relieved overhead (economies of scale make shared services cheaper). Assumption.",
    )
    service_cost: Unit = Field(
        0.5,
        description="Cost to a service firm of carrying one unit of a producer's overhead (economies of scale of shared services). Assumption.",
    )
    focus_gain: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Gain in a producer's pull on demand when shared services carry all the overhead they can (overhead_relief): it can focus on product development (the founder's need, seed 000 step 1). Assumption.",
    )
    competition: bool = Field(
        False, description="Whether members may share niches. The B.I.G. allows no internal competition (seed 000)."
    )
    information_sharing: Unit = Field(
        0.5,
        description="Weight of what the community has seen about a firm in every member's trust (campus, community meetings, shared ERP data; seed 000). Assumption.",
    )
    shared_history: float = Field(
        24.0,
        ge=0,
        le=1200,
        description="Months of shared history the community has seen of each member at step 0 (the B.I.G. dates from 2000, seed 000). Assumption: two years' worth of evidence.",
    )
    contract_degree: Unit = Field(
        0.5, description="Contract degree of service contracts ('contractually regulated', seed 000). Assumption."
    )
    culture: list[Unit] | None = Field(
        None, description="Common starting culture of members; default the centre of the culture space."
    )
    culture_spread: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Spread of members' culture around the common one. Assumption: small, members were selected.",
    )
    min_integrity: Unit = Field(
        0.6, description="Member selection: generated members are drawn at or above this integrity. Assumption."
    )
    min_competence: Unit = Field(
        0.6,
        description="Member selection: generated members are drawn at or above this competence (all aim to lead a niche, seed 000).",
    )

    @model_validator(mode="after")
    def _check(self) -> Group:
        if len(self.campus_location) != 2:
            raise ValueError("campus_location must be [x, y]")
        return self


class Measures(Section):
    """What is measured and how often."""

    network_interval: int = Field(
        12,
        ge=1,
        le=MAX_STEPS,
        description="Months between the dearer network measures (clustering, components); the months between record NaN. Default 12: yearly, like evaluations; the network's structure changes slowly. Density and degrees are measured every month.",
    )
    focal_firms: list[str] = Field(
        default_factory=lambda: ["GEFERTEC", "flying-parts", "Scansonic MI", "Metrolux", "PGS", "Lumics"],
        description="Firms followed one by one where they exist. Default: the six B.I.G. producers (seed 000).",
    )
    small_firm_size: float = Field(
        50.0,
        gt=0,
        le=1e6,
        description="Firms below this many employees count as small (EU definition of a small enterprise).",
    )
    culture_dims: int = Field(
        3,
        ge=1,
        le=20,
        description="Dimensions of the culture vector. Assumption: e.g. formality, risk appetite, self-organisation.",
    )


# ---------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------


class EventBase(Section):
    step: int = Field(ge=1, le=MAX_STEPS, description="Step at whose start the event happens.")


class JoinEvent(EventBase):
    """A firm joins: a named firm, or one drawn from a population."""

    kind: Literal["join"]
    firm: NamedFirm | None = None
    population: str | None = None

    @model_validator(mode="after")
    def _one(self) -> JoinEvent:
        if (self.firm is None) == (self.population is None):
            raise ValueError("give exactly one of 'firm' (a named firm) or 'population' (a population name)")
        return self


class LeaveEvent(EventBase):
    """A named firm leaves; its cooperations end."""

    kind: Literal["leave"]
    firm: str


class TraitChangeEvent(EventBase):
    """A firm's trait changes, e.g. a breach of integrity."""

    kind: Literal["trait_change"]
    firm: str
    trait: Trait
    value: Unit


class OpenCompetitionEvent(EventBase):
    """Two members' niches merge: they now compete for one demand."""

    kind: Literal["open_competition"]
    firms: list[str] = Field(min_length=2, max_length=2)


class RemoveSharedServicesEvent(EventBase):
    """Shared services end: the group's service firms close (their cooperations end), producers carry their own overhead."""

    kind: Literal["remove_shared_services"]


Event = Annotated[
    JoinEvent | LeaveEvent | TraitChangeEvent | OpenCompetitionEvent | RemoveSharedServicesEvent,
    Field(discriminator="kind"),
]


# ---------------------------------------------------------------------------
# The scenario
# ---------------------------------------------------------------------------


class Scenario(Section):
    """One model world: firms, market, group, Kreislauf and trust parameters, events."""

    name: str = Field(min_length=1, max_length=80, description="Short name.")
    description: str = Field(
        "", max_length=2000, description="One line shown by `kreislauf scenarios`, then any detail."
    )
    steps: int = Field(
        120,
        ge=1,
        le=MAX_STEPS,
        description="Horizon in months. Default 120: ten years, long enough for several evaluation rounds.",
    )
    seed: int = Field(1, ge=0, le=2**63 - 1, description="Default seed when none is given.")
    market: Market = Field(default_factory=Market, description="Niches, demand, costs, exit and entry.")
    trust: Trust = Field(default_factory=Trust, description="Trust evidence and reputation.")
    kreislauf: Kreislauf = Field(default_factory=Kreislauf, description="The five phases.")
    group: Group | None = Field(None, description="The group structure, if the scenario has one.")
    measures: Measures = Field(default_factory=Measures, description="Measurement settings.")
    firms: list[NamedFirm] = Field(default_factory=list, description="Firms given by name.")
    populations: list[Population] = Field(default_factory=list, description="Generated firms.")
    events: list[Event] = Field(default_factory=list, description="Scheduled events.")

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        total = len(self.firms) + sum(p.count for p in self.populations)
        total += sum(1 for e in self.events if isinstance(e, JoinEvent))
        if total > MAX_FIRMS:
            raise ValueError(f"{total} firms in all; at most {MAX_FIRMS} are allowed")
        if total == 0:
            raise ValueError("a scenario needs at least one firm (firms or populations)")
        names = [f.name for f in self.firms] + [e.firm.name for e in self.events if isinstance(e, JoinEvent) and e.firm]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"firm names must be unique; repeated: {dupes}")
        pops = [p.name for p in self.populations]
        if len(set(pops)) != len(pops):
            raise ValueError("population names must be unique")
        joined = {e.firm.name: e.step for e in self.events if isinstance(e, JoinEvent) and e.firm}
        left = {e.firm: e.step for e in self.events if isinstance(e, LeaveEvent)}
        roles = {f.name: f.role for f in self.firms} | {
            e.firm.name: e.firm.role for e in self.events if isinstance(e, JoinEvent) and e.firm
        }
        for name in names:
            for pop_name in pops:
                tail = name[len(pop_name) + 1 :] if name.startswith(pop_name + " ") else ""
                if tail.isdigit():
                    raise ValueError(
                        f"firm name {name!r} is taken by the generated firms of population {pop_name!r}; choose another"
                    )
        all_named = list(self.firms) + [e.firm for e in self.events if isinstance(e, JoinEvent) and e.firm]
        for k, e in enumerate(self.events):
            if e.step > self.steps:
                raise ValueError(f"events[{k}]: step {e.step} lies beyond the horizon of {self.steps} steps")
            refs = (
                e.firms
                if isinstance(e, OpenCompetitionEvent)
                else [e.firm]
                if isinstance(e, LeaveEvent | TraitChangeEvent)
                else []
            )
            for ref in refs:
                if ref not in names:
                    raise ValueError(
                        f"events[{k}]: unknown firm {ref!r}; named firms are {names} (generated firms cannot be named)"
                    )
                if joined.get(ref, 0) >= e.step:
                    raise ValueError(f"events[{k}]: {ref!r} joins only at step {joined[ref]}, not before step {e.step}")
                if ref in left and left[ref] < e.step:
                    raise ValueError(f"events[{k}]: {ref!r} has left at step {left[ref]}, before step {e.step}")
                if isinstance(e, OpenCompetitionEvent) and roles[ref] != "producer":
                    raise ValueError(f"events[{k}]: competition opens between producers; {ref!r} is a service firm")
            if isinstance(e, JoinEvent) and e.population is not None and e.population not in pops:
                raise ValueError(f"events[{k}]: unknown population {e.population!r}; known: {pops}")
        has_members = any(f.group for f in self.firms) or any(p.group for p in self.populations)
        if has_members and self.group is None:
            raise ValueError("firms are marked as group members but there is no [group] section")
        if self.market.entry_rate > 0:
            if not self.populations:
                raise ValueError("market.entry_rate > 0 needs a population to draw entrants from")
            if self.market.entry_population is not None and self.market.entry_population not in pops:
                raise ValueError(
                    f"market.entry_population {self.market.entry_population!r} is not a population; known: {pops}"
                )
        if self.group is not None and not self.group.competition:
            members = [f for f in all_named if f.group and f.role == "producer"]
            niches = [f.niche for f in members]
            shared = sorted({n for n in niches if niches.count(n) > 1})
            if shared:
                raise ValueError(f"group.competition is false but members share niches {shared}")
            taken = set(niches)
            for k, p in enumerate(self.populations):
                if p.group and p.role == "producer":
                    entrants = self.market.entry_population or self.populations[0].name
                    if self.market.entry_rate > 0 and entrants == p.name:
                        raise ValueError(
                            f"market.entry_population: entrants from {p.name!r} would join the group, whose members need "
                            "niches of their own (group.competition is false); draw entrants from a market population"
                        )
                    free = len(set(p.niche_names()) - taken)
                    joins = sum(1 for e in self.events if isinstance(e, JoinEvent) and e.population == p.name)
                    taken |= set(p.niche_names())  # a later member population may not count on these
                    if free < p.count + joins:
                        raise ValueError(
                            f"populations[{k}].niches: group.competition is false, so each of the {p.count + joins} "
                            f"members of population {p.name!r} (later joins included) needs a niche of its own, "
                            f"free of named members; {free} are free"
                        )
        on_campus = [f"firm {f.name!r}" for f in all_named if f.location == "campus"]
        on_campus += [f"population {p.name!r}" for p in self.populations if p.location == "campus"]
        if on_campus and (self.group is None or not self.group.campus):
            raise ValueError(
                f"{', '.join(on_campus)} sit on the campus, but the group has none (group.campus is false)"
            )
        dims = self.measures.culture_dims
        for where, vec in self._culture_vectors():
            if vec is not None and len(vec) != dims:
                raise ValueError(f"{where} has {len(vec)} culture dimensions; measures.culture_dims is {dims}")
        return self

    def _culture_vectors(self) -> list[tuple[str, list[float] | None]]:
        out: list[tuple[str, list[float] | None]] = [(f"firm {f.name!r}", f.culture) for f in self.firms]
        out += [(f"population {p.name!r}", p.culture) for p in self.populations]
        if self.group is not None:
            out.append(("group", self.group.culture))
        return out

    # -- convenience --------------------------------------------------------

    @property
    def initial_firm_count(self) -> int:
        """Firms present at step 0."""
        return len(self.firms) + sum(p.count for p in self.populations)

    def summary(self) -> str:
        """The first line of the description."""
        return self.description.strip().splitlines()[0] if self.description.strip() else ""

    def with_overrides(self, overrides: Mapping[str, Any], source: str = "override") -> Scenario:
        """Return a new validated scenario with values replaced by key path.

        Parameters
        ----------
        overrides : mapping
            Dotted key paths (``"kreislauf.familiarity_bias"``, ``"populations.0.count"``)
            to new values.
        source : str
            Named in error messages.

        Raises
        ------
        ScenarioError
            If a path does not exist or a value is not allowed.
        """
        data = self.model_dump(mode="python", exclude_none=False)
        for path, value in overrides.items():
            _set_path(data, path, value, source)
        return _validate(data, source)

    def until(self, steps: int) -> Scenario:
        """A copy with a horizon of ``steps`` months; events after it are left out."""
        kept = [e.model_dump() for e in self.events if e.step <= steps]
        return self.with_overrides({"steps": steps, "events": kept}, source="--steps")

    def scaled_to(self, n_firms: int) -> Scenario:
        """Return this scenario with its generated populations scaled to about ``n_firms`` firms.

        Named firms are kept; population counts, counted niches and the entry
        rate scale in proportion, so firms per niche and entrants per firm stay
        as they were.
        """
        generated = sum(p.count for p in self.populations)
        if generated == 0:
            raise ScenarioError("<scenario>", "populations", ..., "scaling needs at least one generated population")
        factor = max(n_firms - len(self.firms), 0) / generated
        pops = []
        for p in self.populations:
            niches = max(1, round(p.niches * factor)) if isinstance(p.niches, int) else p.niches
            pops.append(p.model_copy(update={"count": round(p.count * factor), "niches": niches}))
        market = self.market.model_copy(update={"entry_rate": self.market.entry_rate * factor})
        data = self.model_copy(update={"populations": pops, "market": market}).model_dump(mode="python")
        return _validate(data, f"{self.name} scaled to {n_firms}")

    def resolved_toml(self, extra: Mapping[str, Any] | None = None) -> str:
        """The fully resolved scenario as TOML (every default written out)."""
        data = self.model_dump(mode="python", exclude_none=True)
        if extra:
            data = {"run": dict(extra), **data}
        return _to_toml(data)


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def builtin_scenarios() -> dict[str, Path]:
    """Map of built-in scenario names to their files (``scenarios/*.toml``, sweeps excluded)."""
    root = resources.files("sim._scenarios")
    out = {}
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml") and not entry.name.startswith("sweep"):
            out[entry.name[: -len(".toml")]] = Path(str(entry))
    return out


def load_scenario(scenario: str | Path | Scenario | Mapping[str, Any]) -> Scenario:
    """Load and validate a scenario.

    Parameters
    ----------
    scenario : str, Path, Scenario or mapping
        A built-in name (``"big"``), a path to a TOML file, an already loaded
        scenario (returned as is) or a plain mapping of its keys.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        When the file is missing, unreadable, not TOML or not a valid scenario.
    """
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Mapping):
        return _validate(dict(scenario), "<scenario>")
    builtins = builtin_scenarios()
    text = str(scenario)
    if text in builtins:
        path = builtins[text]
    else:
        path = Path(text)
        if not path.exists() and not text.endswith(".toml"):
            raise ScenarioError(
                text, "", ..., f"no such file and no built-in scenario; built-ins are {sorted(builtins)}"
            )
    return _validate(read_toml(path), str(path))


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, turning every failure into a :class:`ScenarioError`."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(str(path), "", ..., "file not found") from None
    except IsADirectoryError:
        raise ScenarioError(str(path), "", ..., "is a directory, expected a TOML file") from None
    except OSError as exc:
        raise ScenarioError(str(path), "", ..., f"cannot be read ({exc.strerror})") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(str(path), "", ..., "is not UTF-8 text; expected a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), "", ..., f"is not valid TOML ({exc})") from None


def _validate(data: dict[str, Any], source: str) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(exc, source, Scenario) from None


def pydantic_error(exc: ValidationError, source: str, schema: type[BaseModel]) -> ScenarioError:
    """Turn the first error of a pydantic ``ValidationError`` into a :class:`ScenarioError`."""
    errors = exc.errors(include_url=False)
    # A misspelt key usually explains the errors that follow it: report it first.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = [p for p in err["loc"] if not (isinstance(p, str) and _is_union_tag(p))]
    path = _format_path(loc)
    value = err.get("input", ...)
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(schema, loc[:-1])
        msg = f"unknown key; allowed keys here are {allowed}" if allowed else "unknown key"
    elif kind == "missing":
        msg, value = "required key is missing", ...
    elif kind in {"finite_number"}:
        msg = "must be a finite number (not NaN or inf)"
    else:
        # A value that fits none of a union's forms fails once per form: say all of them.
        same = [e for e in errors if [p for p in e["loc"] if not (isinstance(p, str) and _is_union_tag(p))] == loc]
        msgs = list(dict.fromkeys(e["msg"].removeprefix("Value error, ") for e in same))
        msg = " or ".join(m[0].lower() + m[1:] for m in msgs if m)
    if isinstance(value, dict) and kind not in {"missing"}:
        value = ...  # a whole section is not worth printing
    return ScenarioError(source, path, value, msg)


_UNION_TAGS = {
    "join",
    "leave",
    "trait_change",
    "open_competition",
    "remove_shared_services",
    "list[str]",
    "int",
    "list[constrained-float]",
    "str",
}


def _is_union_tag(part: str) -> bool:
    return part in _UNION_TAGS or part.startswith(("list[", "literal[", "function-"))


def _format_path(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _allowed_keys(schema: type[BaseModel], loc: list[Any]) -> list[str]:
    """Field names of the schema section at ``loc`` (best effort)."""
    import typing

    model: Any = schema
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return []
        model = None
        for cand in [field.annotation, *typing.get_args(field.annotation)]:
            for inner in [cand, *typing.get_args(cand)]:
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    model = inner
                    break
            if model is not None:
                break
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _set_path(data: dict[str, Any], path: str, value: Any, source: str) -> None:
    parts = path.replace("__", ".").split(".")
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        key: Any = int(part) if part.isdigit() and isinstance(node, list) else part
        try:
            if last:
                if isinstance(node, dict) and key not in node:
                    raise KeyError(key)
                node[key] = value
            else:
                node = node[key]
        except (KeyError, IndexError, TypeError):
            here = ".".join(parts[: i + 1])
            allowed = (
                sorted(node)
                if isinstance(node, dict)
                else f"an index below {len(node)}"
                if isinstance(node, list)
                else "nothing deeper"
            )
            raise ScenarioError(source, path, value, f"no parameter at {here!r}; allowed here: {allowed}") from None
        if node is None and not last:
            raise ScenarioError(source, path, value, f"{'.'.join(parts[: i + 1])} is not set in this scenario")


# ---------------------------------------------------------------------------
# TOML writing (the standard library reads TOML but does not write it)
# ---------------------------------------------------------------------------


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return repr(float(v))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else _toml_value(k)


def _to_toml(data: Mapping[str, Any], prefix: str = "") -> str:
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict) and not _is_table_list(v)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    arrays = {k: v for k, v in data.items() if _is_table_list(v)}
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items()]
    for k, v in tables.items():
        name = f"{prefix}{_toml_key(k)}"
        if all(not isinstance(x, dict) and not _is_table_list(x) for x in v.values()) and prefix:
            lines += ["", f"[{name}]", *[f"{_toml_key(a)} = {_toml_value(b)}" for a, b in v.items()]]
        else:
            lines += ["", f"[{name}]", _to_toml(v, prefix=name + ".")]
    for k, v in arrays.items():
        for item in v:
            lines += ["", f"[[{prefix}{_toml_key(k)}]]", _to_toml(item, prefix=f"{prefix}{_toml_key(k)}.")]
    return "\n".join(line for line in lines).strip() + "\n"


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


# ---------------------------------------------------------------------------
# Reference documentation
# ---------------------------------------------------------------------------


def reference_markdown() -> str:
    """The scenario reference (``docs/scenarios.md``), generated from the schema."""
    sections: list[tuple[str, type[BaseModel]]] = [
        ("Top level", Scenario),
        ("[market]", Market),
        ("[trust]", Trust),
        ("[kreislauf]", Kreislauf),
        ("[kreislauf.score_weights]", ScoreWeights),
        ("[group]", Group),
        ("[measures]", Measures),
        ("[[firms]]", NamedFirm),
        ("[[populations]]", Population),
        ("Distributions `{ mean, sd }`", UnitDistribution),
        ("[populations.size]", SizeDistribution),
        ('[[events]] kind = "join"', JoinEvent),
        ('[[events]] kind = "leave"', LeaveEvent),
        ('[[events]] kind = "trait_change"', TraitChangeEvent),
        ('[[events]] kind = "open_competition"', OpenCompetitionEvent),
        ('[[events]] kind = "remove_shared_services"', RemoveSharedServicesEvent),
    ]
    out = [
        "# Scenario reference",
        "",
        "Generated from `sim/scenario.py` by `kreislauf scenarios --reference > docs/scenarios.md`; a test keeps it in step.",
        "Units: months, employees, k EUR, km. Every key is optional unless its default says *required*.",
        "Unknown keys, wrong types, NaN and values out of range are errors (exit code 2).",
        "",
    ]
    for title, model in sections:
        out += [
            f"## {title}",
            "",
            (model.__doc__ or "").strip().splitlines()[0],
            "",
            "| key | default | meaning and reason |",
            "| --- | --- | --- |",
        ]
        for name, field in model.model_fields.items():
            if name in {"kind"}:
                continue
            default = (
                "*required*" if field.is_required() else _doc_default(field.get_default(call_default_factory=True))
            )
            desc = (field.description or "").replace("|", "\\|")
            bounds = _bounds(field)
            out.append(f"| `{name}` | {default} | {desc}{bounds} |")
        out.append("")
    return "\n".join(out)


def _doc_default(value: Any) -> str:
    if isinstance(value, BaseModel):
        return "(section)"
    if isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
        return "(see text)"
    if isinstance(value, float):
        value = round(value, 4)
    if isinstance(value, dict):
        value = {k: round(v, 4) if isinstance(v, float) else v for k, v in value.items()}
    return f"`{_toml_value(value) if value is not None else 'none'}`"


def _bounds(field: Any) -> str:
    lo = hi = None
    for m in field.metadata:
        lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
        lo = getattr(m, "gt", None) if getattr(m, "gt", None) is not None else lo
        hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
    if lo is None and hi is None:
        return ""
    return f" Allowed: {lo if lo is not None else '-inf'} to {hi if hi is not None else 'inf'}."
