"""Work done block by block (to keep a large market's temporaries small) gives the numbers done at once gives."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from sim import CooperationModel, search


def _run(scenario: str, seed: int, steps: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    model = CooperationModel(scenario, seed=seed, steps=steps)
    while model.running:
        model.step()
    return model.measures_frame(), model.cooperation_log()


@pytest.mark.parametrize(("scenario", "seed"), [("open_market", 3), ("classroom", 5)])
def test_weighing_candidates_in_small_blocks_changes_nothing(
    scenario: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _run(scenario, seed, 14)
    weighed: list[int] = []
    one_block = search._terms_of_block

    def counted(world: Any, a: Any, *rest: Any) -> search.Terms:
        weighed.append(len(a))
        return one_block(world, a, *rest)

    monkeypatch.setattr(search, "_terms_of_block", counted)
    monkeypatch.setattr(search, "PAIRS_AT_ONCE", 7)  # many blocks, and last ones that are short
    blocks = _run(scenario, seed, 14)
    assert max(weighed) == 7 and min(weighed) < 7  # it did weigh in blocks
    pd.testing.assert_frame_equal(whole[0], blocks[0], check_exact=True)
    pd.testing.assert_frame_equal(whole[1], blocks[1], check_exact=True)
