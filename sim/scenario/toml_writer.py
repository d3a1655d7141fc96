"""Writing TOML (the standard library reads TOML but does not write it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["to_toml", "toml_value"]


def toml_value(v: Any) -> str:
    """One TOML value (scalar, array or inline table)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return repr(float(v))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else toml_value(k)


def to_toml(data: Mapping[str, Any], prefix: str = "") -> str:
    """A TOML document of nested mappings: scalars first, then tables, then arrays of tables."""
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict) and not _is_table_list(v)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    arrays = {k: v for k, v in data.items() if _is_table_list(v)}
    lines = [f"{_toml_key(k)} = {toml_value(v)}" for k, v in scalars.items()]
    for k, v in tables.items():
        name = f"{prefix}{_toml_key(k)}"
        if all(not isinstance(x, dict) and not _is_table_list(x) for x in v.values()) and prefix:
            lines += ["", f"[{name}]", *[f"{_toml_key(a)} = {toml_value(b)}" for a, b in v.items()]]
        else:
            lines += ["", f"[{name}]", to_toml(v, prefix=name + ".")]
    for k, v in arrays.items():
        for item in v:
            lines += ["", f"[[{prefix}{_toml_key(k)}]]", to_toml(item, prefix=f"{prefix}{_toml_key(k)}.")]
    return "\n".join(line for line in lines).strip() + "\n"


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)
