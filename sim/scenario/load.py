"""Loading a scenario: built-in names, TOML files, mappings; every failure a :class:`ScenarioError`.

Files are read safely: only regular files (never a device such as
``/dev/zero``, a pipe or a socket, which could fill memory or block for
good), at most :data:`MAX_FILE_BYTES` bytes, decoded as UTF-8 with or without
a byte-order mark; a file nested too deeply for the TOML parser is an error
like any other.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from sim.scenario.errors import ScenarioError
from sim.scenario.schema import Scenario, validate

__all__ = ["MAX_FILE_BYTES", "builtin_scenarios", "load_for_run", "load_scenario", "read_text", "read_toml"]

#: Largest scenario or sweep file read, in bytes (4 MiB: room for tens of thousands of named firms).
MAX_FILE_BYTES = 4 * 1024 * 1024


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
        When the file is missing, not a regular file, too large, unreadable,
        not TOML or not a valid scenario.
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
        if not _exists(path) and not text.endswith(".toml"):
            raise ScenarioError(
                text, "", ..., f"no such file and no built-in scenario; built-ins are {sorted(builtins)}"
            )
    return validate(read_toml(path), str(path))


def load_for_run(
    scenario: str | Path | Scenario | Mapping[str, Any], seed: int | None, overrides: Mapping[str, Any]
) -> tuple[Scenario, int]:
    """The scenario and seed of one run: loaded, its horizon and parameters overridden, the seed checked or drawn.

    ``overrides`` name parameters by key path with ``__`` between levels;
    ``steps`` shortens the horizon and leaves out later events, as
    ``kreislauf run --steps`` does. Without a seed, fresh entropy is drawn.

    Raises
    ------
    ScenarioError
        If the scenario, an override or the seed is not valid.
    """
    loaded = load_scenario(scenario)
    overrides = dict(overrides)
    if "steps" in overrides:
        steps = overrides.pop("steps")
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer):
            raise ScenarioError("argument", "steps", steps, "must be a whole number of months")
        loaded = loaded.until(int(steps))
    if overrides:
        loaded = loaded.with_overrides({key.replace("__", "."): value for key, value in overrides.items()})
    if seed is None:  # fresh entropy, kept by the caller so that the run can be repeated
        seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ScenarioError("argument", "seed", seed, "must be a non-negative integer")
    return loaded, int(seed)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name with NUL, or too long
        return False


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """The text of a small regular file, every failure a :class:`ScenarioError` naming the file.

    Parameters
    ----------
    path : Path
        The file.
    limit : int
        Most bytes accepted.

    Raises
    ------
    ScenarioError
        When the file is missing, a directory, not a regular file (a device,
        pipe or socket: these are never read, as they may never end), larger
        than ``limit``, unreadable, or not UTF-8 text (a byte-order mark is
        accepted).
    """
    source = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        # Non-blocking, so that opening a pipe with no writer returns at once; a regular file reads as usual.
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ScenarioError(source, "", ..., "file not found") from None
    except IsADirectoryError:
        raise ScenarioError(source, "", ..., "is a directory, expected a TOML file") from None
    except OSError as exc:
        raise ScenarioError(source, "", ..., f"cannot be read ({exc.strerror or exc})") from None
    except ValueError:  # NUL in the name
        raise ScenarioError(source, "", ..., "is not a valid file name") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ScenarioError(source, "", ..., "is a directory, expected a TOML file")
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError(source, "", ..., "is not a regular file (a device, pipe or socket); give a TOML file")
        too_big = (
            f"is larger than {limit // 1024 // 1024} MiB ({limit} bytes), the most a scenario or sweep file may be"
        )
        if info.st_size > limit:
            raise ScenarioError(source, "", ..., too_big)
        with os.fdopen(os.dup(fd), "rb") as handle:
            raw = handle.read(limit + 1)  # the file may have grown since
    except OSError as exc:
        raise ScenarioError(source, "", ..., f"cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise ScenarioError(source, "", ..., too_big)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScenarioError(source, "", ..., "is not UTF-8 text; expected a TOML file") from None


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file safely (see :func:`read_text`), turning every failure into a :class:`ScenarioError`."""
    text = read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), "", ..., f"is not valid TOML ({exc})") from None
    except RecursionError:
        raise ScenarioError(str(path), "", ..., "nests arrays or tables too deeply to be read") from None
