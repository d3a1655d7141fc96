"""The scenario: one model world, its scheduled events, and the checks that tie its sections together."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from sim.scenario.base import MAX_FIRM_MONTHS, MAX_FIRMS, MAX_STEPS, MAX_TEXT_LENGTH, FileName, Section, Unit
from sim.scenario.errors import ScenarioError, pydantic_error, set_path
from sim.scenario.firms import NamedFirm, Population
from sim.scenario.ingredients import Ingredient, check_paths
from sim.scenario.parameters import Group, Kreislauf, Market, Measures, Trust
from sim.scenario.toml_writer import to_toml
from sim.vocabulary import Trait

__all__ = [
    "Event",
    "JoinEvent",
    "LeaveEvent",
    "OpenCompetitionEvent",
    "RemoveSharedServicesEvent",
    "Scenario",
    "TraitChangeEvent",
    "text_problem",
    "validate",
]

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

    name: FileName = Field(
        description="Short name, also used in file and folder names: printable, at most 80 characters, no '/' or '\\'."
    )
    description: str = Field(
        "", max_length=MAX_TEXT_LENGTH, description="One line shown by `kreislauf scenarios`, then any detail."
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
    ingredients: list[Ingredient] = Field(
        default_factory=list,
        description="Switchable ingredients of the structure, for `kreislauf explain` (see docs/howto-explain.md); the model never reads them.",
    )

    @model_validator(mode="before")
    @classmethod
    def _plain_text(cls, data: Any) -> Any:
        problem = text_problem(data)
        if problem:
            raise ValueError(problem)
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        total = len(self.firms) + sum(p.count for p in self.populations)
        total += sum(1 for e in self.events if isinstance(e, JoinEvent))
        if total > MAX_FIRMS:
            raise ValueError(f"{total} firms in all; at most {MAX_FIRMS} are allowed")
        if total == 0:
            raise ValueError("a scenario needs at least one firm (firms or populations)")
        self._check_work(total)
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
        problem = check_paths(self, self.ingredients)
        if problem:
            raise ValueError(problem)
        return self

    def _check_work(self, named_and_counted: int) -> None:
        """Refuse, before anything is built, a scenario whose firms or work would exhaust memory or time.

        The firms it brings into being (at the start, by events, and the
        expected entrants: ``market.entry_rate`` a month over the horizon)
        are at most :data:`MAX_FIRMS`; its firm-months (firms present, the
        entrants counted from the middle of the horizon on average, times
        months) at most :data:`MAX_FIRM_MONTHS`.
        """
        entrants = self.market.entry_rate * self.steps
        if named_and_counted + entrants > MAX_FIRMS:
            raise ValueError(
                f"market.entry_rate: {self.market.entry_rate:g} entrants a month over {self.steps} months bring "
                f"about {named_and_counted + entrants:,.0f} firms in all; at most {MAX_FIRMS:,} are allowed: "
                "lower market.entry_rate, steps or the populations' counts"
            )
        work = (named_and_counted + entrants / 2) * self.steps
        if work > MAX_FIRM_MONTHS:
            raise ValueError(
                f"this scenario implies about {work:,.0f} firm-months of work ({named_and_counted:,} firms"
                f"{f' and about {entrants:,.0f} entrants' if entrants else ''} over {self.steps:,} months); "
                f"at most {MAX_FIRM_MONTHS:,} are allowed: lower steps, the populations' counts or market.entry_rate"
            )

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
            set_path(data, path, value, source)
        return validate(data, source)

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
        return validate(data, f"{self.name} scaled to {n_firms}")

    def resolved_toml(self, extra: Mapping[str, Any] | None = None) -> str:
        """The fully resolved scenario as TOML (every default written out)."""
        data = self.model_dump(mode="python", exclude_none=True)
        if extra:
            data = {"run": dict(extra), **data}
        return to_toml(data)


#: Control characters a description may hold; no other text of a scenario may hold any.
_LAYOUT = str.maketrans("", "", "\n\t\r")


def text_problem(data: Any, path: str = "") -> str | None:
    """What is wrong with the text in plain scenario data, if anything: too long, or unprintable.

    Every string anywhere in the data is at most :data:`MAX_TEXT_LENGTH`
    characters and printable (a description may also break lines), so no
    value can fill memory or break a table, a report or a network file.
    Walks the data without recursion, so deeply nested data cannot overflow
    the stack.
    """
    stack: list[tuple[str, Any]] = [(path, data)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            if len(node) > MAX_TEXT_LENGTH:
                return f"text at {where or 'top level'} is {len(node)} characters long; at most {MAX_TEXT_LENGTH} are allowed"
            plain = node.translate(_LAYOUT) if where.endswith("description") else node
            if not plain.isprintable():
                return f"text at {where or 'top level'} must be printable (no control characters such as NUL)"
        elif isinstance(node, Mapping):
            for key, value in node.items():
                if isinstance(key, str) and (len(key) > MAX_TEXT_LENGTH or not key.isprintable()):
                    return (
                        f"a key at {where or 'top level'} is not a plain name ({len(key)} characters, or unprintable)"
                    )
                stack.append((f"{where}.{key}" if where else str(key), value))
        elif isinstance(node, list | tuple):
            stack.extend((f"{where}[{k}]", value) for k, value in enumerate(node))
    return None


def validate(data: dict[str, Any], source: str) -> Scenario:
    """Validate plain data as a :class:`Scenario`; the first problem as a :class:`ScenarioError` naming ``source``."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(exc, source, Scenario) from None
