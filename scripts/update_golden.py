"""Rewrite the golden baseline of the seeded regression test (tests/test_regression.py).

Run this only on purpose, after a change that is meant to change the model's
results, and say in the commit message why the numbers moved:

    python scripts/update_golden.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from test_regression import CASES, GOLDEN, golden_frames  # noqa: E402


def main() -> None:
    """Recompute every golden case and write it as CSV."""
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        for name, frame in golden_frames(*case).items():
            path = GOLDEN / name
            frame.to_csv(path, index=False, lineterminator="\n", float_format="%.12g")
            print(f"wrote {path.relative_to(ROOT)} ({len(frame)} rows)")


if __name__ == "__main__":
    main()
