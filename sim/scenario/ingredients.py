"""Ingredients: the named, switchable parts of a scenario's structure, declared as data.

A scenario may declare ``[[ingredients]]``: each a name, a sentence, and the
parameter values that switch it from this scenario's setting to another
scenario's (the B.I.G.'s shared services, campus, pooled information... against
the open market). ``kreislauf explain A B`` switches them on and off in every
combination to split the gap between A and B into one share per ingredient.

Ingredients are inert: the model never reads them, so declaring them changes
no run. A switch is written like a sweep's key paths:

- ``set``: dotted key paths to the values they take when the ingredient is
  switched (``"group.shared_services" = false``);
- ``add``: dotted key paths of lists to items appended to them when it is
  switched (``[[ingredients.add.populations]]``: a population that enters),
  so two ingredients can each add their own firms.

Loading checks that every path exists in the scenario (``add`` paths must
lead to lists) and that names are unique; :func:`switch` applies a set of
ingredients and validates the result like any scenario, so a value that is
not allowed is named with the ingredient and key.

Examples
--------
>>> from sim.scenario import load_scenario
>>> big = load_scenario("big")
>>> switch(big, ["shared services"]).group.shared_services
False
>>> switch(big, []).group.shared_services, switch(big, []).ingredients
(True, [])
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from sim.scenario.base import MAX_TEXT_LENGTH, Section
from sim.scenario.errors import ScenarioError, pydantic_error, set_path

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = ["Ingredient", "check_paths", "switch"]


class Ingredient(Section):
    """A switchable ingredient of the structure: a name, a sentence, and the values that switch it."""

    name: str = Field(
        min_length=1, max_length=80, description="Short name shown in tables and figures, e.g. 'shared services'."
    )
    sentence: str = Field(
        "",
        max_length=MAX_TEXT_LENGTH,
        description="One sentence saying what the ingredient is and what switching does.",
    )
    set: dict[str, Any] = Field(
        default_factory=dict,
        description="Dotted key paths (as in sweep files) and the values they take when the ingredient is switched to the other scenario's setting.",
    )
    add: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="Dotted key paths of lists (e.g. 'populations') and the items appended to them when the ingredient is switched.",
    )

    @model_validator(mode="after")
    def _something(self) -> Ingredient:
        if not self.set and not self.add:
            raise ValueError(f"ingredient {self.name!r} switches nothing: give 'set' or 'add'")
        return self


def _walk(node: Any, path: str) -> tuple[Any, str | None]:
    """The value at a dotted path of a scenario object, or the problem on the way there."""
    parts = path.replace("__", ".").split(".")
    for i, part in enumerate(parts):
        here = ".".join(parts[: i + 1])
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, BaseModel) and part in type(node).model_fields:
            node = getattr(node, part)
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            allowed = (
                sorted(type(node).model_fields)
                if isinstance(node, BaseModel)
                else sorted(node)
                if isinstance(node, dict)
                else f"an index below {len(node)}"
                if isinstance(node, list)
                else "nothing deeper"
            )
            return None, f"no parameter at {here!r}; allowed here: {allowed}"
        if node is None and i < len(parts) - 1:
            return None, f"{here} is not set in this scenario"
    return node, None


def check_paths(scenario: Any, ingredients: Sequence[Ingredient]) -> str | None:
    """What is wrong with the ingredients' names and key paths in ``scenario``, if anything.

    Cheap (no scenario is rebuilt): names unique, every ``set`` path present
    and not the ingredients themselves, every ``add`` path a list. The values
    are checked when the ingredients are switched (:func:`switch`).
    """
    names = [i.name for i in ingredients]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        return f"ingredient names must be unique; repeated: {twice}"
    for k, ing in enumerate(ingredients):
        for table, paths in (("set", ing.set), ("add", ing.add)):
            for path in paths:
                where = f"ingredients[{k}] ({ing.name!r}).{table}.{path!r}"
                if path.replace("__", ".").split(".")[0] in {"ingredients", "name"}:
                    return f"{where}: an ingredient switches the model's parameters, not names or ingredients"
                value, problem = _walk(scenario, path)
                if problem:
                    return f"{where}: {problem}"
                if table == "add" and not isinstance(value, list):
                    return f"{where}: 'add' appends to a list; this path holds {type(value).__name__}"
    return None


def switch(scenario: Scenario, names: Iterable[str], source: str | None = None) -> Scenario:
    """The scenario with the named ingredients switched to the other scenario's setting.

    Ingredients are applied in the order the scenario declares them (so the
    items that several ingredients ``add`` keep one order whatever the
    combination); the result declares no ingredients of its own and is
    validated like any scenario.

    Parameters
    ----------
    scenario : Scenario
        A scenario that declares the ingredients.
    names : iterable of str
        Ingredients to switch (any order; none gives the scenario unchanged but for its ingredients).
    source : str, optional
        Named in error messages (default: the scenario's name).

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        When a name is not one of the scenario's ingredients, or the switched scenario is not valid
        (naming the ingredients switched and the key).
    """
    source = source or scenario.name
    wanted = list(dict.fromkeys(names))
    known = [i.name for i in scenario.ingredients]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ScenarioError(
            source, "ingredients", unknown[0], f"not an ingredient of {scenario.name!r}; known: {known}"
        )
    data = scenario.model_dump(mode="python")
    data["ingredients"] = []
    chosen = [i for i in scenario.ingredients if i.name in wanted]
    for ing in chosen:
        where = f"{source} (ingredient {ing.name!r})"
        for path, value in ing.set.items():
            set_path(data, path, copy.deepcopy(value), where)
        for path, items in ing.add.items():
            node: Any = data
            for part in path.replace("__", ".").split("."):
                node = node[int(part)] if isinstance(node, list) else node[part]
            node.extend(copy.deepcopy(items))
    try:
        return type(scenario).model_validate(data)
    except ValidationError as exc:
        err = pydantic_error(exc, source, type(scenario))
        what = ", ".join(repr(i.name) for i in chosen) or "no ingredient"
        raise ScenarioError(source, err.path, err.value, f"{err.allowed} (with ingredients {what} switched)") from None
