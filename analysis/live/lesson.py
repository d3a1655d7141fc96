"""The teaching controls of the live app and how they change a scenario.

A lecturer moves a few sliders that carry the lesson (how honest firms are,
whether group members compete, how hasty partner choice is, whether shared
services exist, how often partners evaluate, the seed); :func:`lesson_scenario`
turns a built-in scenario and those :class:`Settings` into the scenario the
model runs, validated by the scenario schema like any file. Every control has
its range here, once: the app's sliders are built from :data:`CONTROLS`, and
:meth:`Settings.checked` refuses anything outside them, so a value the model
cannot take never reaches it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from sim.scenario import Scenario, ScenarioError, builtin_scenarios, load_scenario

__all__ = ["CONTROLS", "Control", "Settings", "lesson_scenario", "scenario_defaults"]


@dataclass(frozen=True)
class Control:
    """One teaching control: its range and what it does, in the lecturer's words."""

    name: str
    label: str
    low: float
    high: float
    step: float
    help: str


#: The sliders of the app, in the order shown.
CONTROLS: tuple[Control, ...] = (
    Control(
        "integrity",
        "Mean integrity of the firms",
        0.1,
        0.95,
        0.05,
        "Shifts every firm's integrity (named firms and generated ones) so that their mean is this value.",
    ),
    Control(
        "familiarity_bias",
        "Familiarity bias",
        0.0,
        1.0,
        0.05,
        "Chance that a firm picks a partner among the firms it already knows instead of searching the market.",
    ),
    Control(
        "evaluation_period",
        "Evaluation period (months)",
        3,
        24,
        1,
        "Months of work between two evaluations of a cooperation.",
    ),
    Control("seed", "Seed", 0, 9999, 1, "The same seed and settings give the same run."),
)
_BY_NAME = {c.name: c for c in CONTROLS}


@dataclass(frozen=True)
class Settings:
    """What the lecturer chose: a scenario, an optional one beside it, and the teaching controls.

    ``None`` for a control keeps the scenario's own value.
    """

    scenario: str = "big"
    beside: str | None = "open_market"
    integrity: float | None = None
    familiarity_bias: float | None = None
    evaluation_period: int | None = None
    seed: int = 1
    competition: bool = False
    shared_services: bool = True
    #: Scenario files the lecturer named on the command line: (name offered in the app, path).
    files: tuple[tuple[str, str], ...] = ()

    def catalogue(self) -> dict[str, str]:
        """The scenarios these settings may name: the built-ins and the lecturer's files, name to source."""
        return {**{name: name for name in builtin_scenarios()}, **dict(self.files)}

    def checked(self) -> Settings:
        """These settings if every value is allowed.

        Raises
        ------
        ScenarioError
            Naming the control, the value and the allowed range.
        """
        names = self.catalogue()
        for key, value in (("scenario", self.scenario), ("beside", self.beside)):
            if (value is not None or key == "scenario") and (not isinstance(value, str) or value not in names):
                raise ScenarioError("live app", key, value, f"must be one of {', '.join(sorted(names))}")
        for control in CONTROLS:
            value = getattr(self, control.name)
            if value is None:
                continue
            whole = control.step == int(control.step)
            # An int may be too large for a float (10**400): it is compared as an int, never converted.
            number_ok = isinstance(value, int | float) and not isinstance(value, bool)
            number_ok = number_ok and (isinstance(value, int) or math.isfinite(value))
            if not number_ok or (whole and value != int(value)):
                kind = "a whole number" if whole else "a number"
                raise ScenarioError(
                    "live app", control.name, value, f"must be {kind} from {control.low} to {control.high}"
                )
            if not control.low <= value <= control.high:
                raise ScenarioError("live app", control.name, value, f"must be from {control.low} to {control.high}")
        return replace(
            self,
            seed=int(self.seed),
            evaluation_period=None if self.evaluation_period is None else int(self.evaluation_period),
        )

    @classmethod
    def from_controls(cls, values: dict[str, Any]) -> Settings:
        """Settings from the app's raw control values (strings, None, lists of switches), checked."""
        clean: dict[str, Any] = {}
        for key, value in values.items():
            if key in _BY_NAME and isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    raise ScenarioError("live app", key, value, "must be a number") from None
            clean[key] = value
        return cls(**clean).checked()


def _mean_integrity(scenario: Scenario) -> float:
    """Mean integrity of the firms present at the start (populations by their mean)."""
    total = sum(f.integrity for f in scenario.firms) + sum(p.count * p.integrity.mean for p in scenario.populations)
    count = len(scenario.firms) + sum(p.count for p in scenario.populations)
    return total / count if count else 0.5


def scenario_defaults(name: str, files: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """The values the controls show for a scenario before the lecturer moves them.

    Parameters
    ----------
    name : str
        A built-in scenario, or the name of one of ``files``.
    files : tuple of (str, str)
        The lecturer's scenario files (:attr:`Settings.files`).
    """
    scenario = load_scenario(dict(files).get(name, name))
    group = scenario.group
    return {
        "integrity": round(_mean_integrity(scenario), 2),
        "familiarity_bias": scenario.kreislauf.familiarity_bias,
        "evaluation_period": scenario.kreislauf.evaluation_period,
        "seed": scenario.seed,
        "competition": bool(group is not None and group.competition),
        "shared_services": bool(group is not None and group.shared_services),
        "has_group": group is not None,
    }


def lesson_scenario(name: str, settings: Settings) -> Scenario:
    """The scenario ``name`` (built in, or a file the lecturer named) with the lecturer's settings applied.

    - integrity: every firm's integrity shifted by the same amount, the
      chosen value minus the mean integrity of the lecturer's main scenario
      (``settings.scenario``) at the start, so the main scenario's mean
      becomes the chosen value and a scenario beside it moves by as much
      (the same producers stay alike in both); clipped to [0, 1], a
      population's spread narrowed where a Beta distribution needs it;
    - competition between members: the group's producers are paired in file
      order and each pair is put into one niche in month 1 (the scenario
      event ``open_competition``), so members compete for one demand;
    - shared services off: the group's service firms do not carry producers'
      overheads;
    - familiarity bias and evaluation period: the Kreislauf parameters.

    Raises
    ------
    ScenarioError
        If the result is not a valid scenario.
    """
    files = dict(settings.files)
    scenario = load_scenario(files.get(name, name))
    overrides: dict[str, Any] = {}
    if settings.integrity is not None:
        shift = settings.integrity - _mean_integrity(load_scenario(files.get(settings.scenario, settings.scenario)))
        for k, firm in enumerate(scenario.firms):
            overrides[f"firms.{k}.integrity"] = round(min(1.0, max(0.0, firm.integrity + shift)), 6)
        for k, pop in enumerate(scenario.populations):
            mean = min(0.98, max(0.02, pop.integrity.mean + shift))
            overrides[f"populations.{k}.integrity.mean"] = round(mean, 6)
            overrides[f"populations.{k}.integrity.sd"] = round(
                min(pop.integrity.sd, 0.95 * math.sqrt(mean * (1 - mean))), 6
            )
    if settings.familiarity_bias is not None:
        overrides["kreislauf.familiarity_bias"] = float(settings.familiarity_bias)
    if settings.evaluation_period is not None:
        overrides["kreislauf.evaluation_period"] = int(settings.evaluation_period)
    group = scenario.group
    if group is not None:
        overrides["group.shared_services"] = bool(settings.shared_services)
        if settings.competition:
            producers = [f.name for f in scenario.firms if f.group and f.role == "producer"]
            events = [e.model_dump() for e in scenario.events]
            events += [
                {"kind": "open_competition", "step": 1, "firms": producers[k : k + 2]}
                for k in range(0, len(producers) - 1, 2)
            ]
            overrides["events"] = events
    return scenario.with_overrides(overrides, source="live app") if overrides else scenario
