"""Loading a scenario: built-in names, TOML files, mappings; every failure a :class:`ScenarioError`."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from sim.scenario.errors import ScenarioError
from sim.scenario.schema import Scenario, validate

__all__ = ["builtin_scenarios", "load_scenario", "read_toml"]


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
        return validate(dict(scenario), "<scenario>")
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
    return validate(read_toml(path), str(path))


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
