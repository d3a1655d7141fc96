"""Firms in a scenario file: distributions of traits and sizes, generated populations, named firms."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, PrivateAttr, model_validator

from sim.scenario.base import MAX_FIRMS, Label, Section, Unit, check_label
from sim.vocabulary import DOMAINS, TRAITS, Domain, Role

__all__ = ["DEFAULT_NEEDS", "NamedFirm", "Population", "SizeDistribution", "UnitDistribution", "default_capabilities"]


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


#: A population's name: a printable label short enough that its firms' names ('<name> <k>') are labels too.
PopulationName = Annotated[str, Field(min_length=1, max_length=60), AfterValidator(check_label)]


class Population(Section):
    """Generated firms: counts and trait distributions."""

    name: PopulationName = Field(
        description="Label of this population, at most 60 characters; generated firms are named '<name> <k>'."
    )
    count: int = Field(ge=0, le=MAX_FIRMS, description="Number of firms at step 0.")
    role: Role = Field(
        "producer", description="Producers sell in niches; service firms carry group members' overheads."
    )
    niches: list[Label] | int = Field(
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

    name: Label = Field(description="Unique firm name: printable, at most 80 characters.")
    role: Role = Field("producer", description="Producer or service firm.")
    niche: Label = Field(description="The niche it sells in (service firms: a label of their service).")
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
