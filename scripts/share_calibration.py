"""Carry a calibration's values into the other scenarios that share the calibrated assumptions.

    python scripts/share_calibration.py results/calibrate_open_market scenarios/*.toml

A calibration writes its base scenario with the calibrated values
(``open_market.toml`` in its results folder). The comparisons compare like
with like only if every scenario that made the same assumption as the base
(the same value of a calibrated key) now takes the calibrated value too: the
B.I.G. in ``big.toml`` keeps its own group terms, but its firms leave
cooperations, carry overhead and go insolvent by the same rules as in the
open market. So a key is carried into a scenario exactly when the scenario's
value of it equals the base scenario's value before the calibration; a key
the scenario sets otherwise (``market.entry_rate`` is 0 in the closed group
of ``big.toml``) is its own assumption and stays. Each carried key gets the
calibration's reason, and its previous line is kept as a comment, as in the
calibrated base file. Sweep files (``sweep_*.toml``) are skipped.

"Before the calibration" is the base scenario as shipped when the script
runs, so run it before the calibrated base file replaces the shipped one.
It prints each scenario with the keys it carried and those it left.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.calibrate import load_calibration, set_toml_key, weighted_quantile
from sim.scenario import load_scenario


def value_at(data: dict[str, Any], key: str) -> Any:
    """The value at a dotted key path of a scenario's resolved settings."""
    for part in key.split("."):
        data = data[part]
    return data


def main(argv: list[str] | None = None) -> int:
    """Carry the calibrated values into each scenario file given; print what was carried and what kept."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a calibration's results folder")
    parser.add_argument("scenarios", type=Path, nargs="+", help="scenario files to carry the values into")
    args = parser.parse_args(argv)

    manifest = json.loads((args.results / "calibration.json").read_text())
    calibration = load_calibration(args.results / "calibration.toml")
    posterior = pd.read_parquet(args.results / "posterior.parquet")
    before = calibration.base.model_dump(mode="python")
    weights = posterior["weight"].to_numpy(dtype=float)

    for path in args.scenarios:
        if path.name.startswith("sweep_"):
            continue
        mine = load_scenario(path).model_dump(mode="python")
        lines = path.read_text().splitlines()
        carried, kept = [], []
        for name, p in calibration.file.parameters.items():
            value = manifest["calibrated"][name]
            v = posterior[name].to_numpy(dtype=float)
            low, high = weighted_quantile(v, weights, 0.05), weighted_quantile(v, weights, 0.95)
            for key in p.key_paths:
                if value_at(mine, key) != value_at(before, key):
                    kept.append(f"{key} = {value_at(mine, key)!r}")
                    continue
                section, leaf = key.rsplit(".", 1)
                shown = repr(value) if isinstance(value, int) else f"{value:.4g}"
                reason = (
                    f"calibrated by {manifest['name']}.toml (seed {calibration.file.seed}, {manifest['date']}) "
                    f"on {calibration.file.base}: posterior median; 90% posterior interval {low:.4g} to {high:.4g}; "
                    f"prior {list(p.range)}"
                )
                lines = set_toml_key(lines, section, leaf, shown, reason, value_at(before, key))
                carried.append(key)
        path.write_text("\n".join(lines) + "\n")
        load_scenario(path)  # the file still loads
        print(
            f"{path}: carried {', '.join(carried) or 'nothing'}" + (f"; kept its own {', '.join(kept)}" if kept else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
