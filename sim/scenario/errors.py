"""Errors in scenarios, sweeps and overrides: one line naming the file, the key, the value and what is allowed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["ScenarioError", "pydantic_error", "set_path"]


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
        # One line, whatever the file's name holds (a newline or NUL is shown escaped).
        source = source if source.isprintable() else repr(source)[1:-1]
        shown = "" if value is ... else f" = {_short(value)}"
        where = f"{path}{shown}: " if path else ""
        super().__init__(f"{source}: {where}{allowed}")

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[str, str, Any, str]]:
        """Rebuilt from its four parts, so it crosses from a worker process to the parent whole."""
        return (type(self), (self.source, self.path, self.value, self.allowed))


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


def set_path(data: dict[str, Any], path: str, value: Any, source: str) -> None:
    """Set the value at a dotted key path (``__`` also separates levels) of plain scenario data, in place.

    Raises
    ------
    ScenarioError
        If the path does not exist (the message names what is allowed there) or runs through an unset section.
    """
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
