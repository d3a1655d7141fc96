"""What an experiment does besides stepping its models: the tables it stores stay what they were, made faster."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import compare
from analysis.store import TABLES, ResultsFolder


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> ResultsFolder:
    """Three short comparisons of the classroom and fragility: logs with open cooperations (missing values)."""
    out = tmp_path_factory.mktemp("overhead") / "c"
    compare(["classroom", "fragility"], replicates=3, steps=8, workers=1, out=out, progress=False)
    return ResultsFolder(out)


def test_a_batch_of_logs_with_missing_values_is_formatted_at_once_as_each_alone(folder: ResultsFolder) -> None:
    """``ended`` and ``partner_id`` are nullable whole numbers: a batch formats as one table, same bytes as run by run."""
    runs = sorted(folder.finished())
    logs = folder.table("cooperations")
    assert logs["ended"].isna().any() and str(logs["ended"].dtype) == "Int64"
    for table in TABLES:
        batch = folder._csv_batch(table, runs)
        if table == "cooperations":  # (the two scenarios' measures and focal tables differ in schema)
            assert len(batch) == 1  # formatted together
        alone = [folder._csv_rows(table, run) for run in runs]
        header = alone[0][: alone[0].index(b"\n") + 1]
        joined = b"".join(rows if k == 0 else rows[len(header) :] for k, (_, rows) in enumerate(batch))
        assert joined == header + b"".join(rows[len(header) :] for rows in alone)
        assert pd.read_csv(folder.path / f"{table}.csv").shape[0] == len(folder.table(table))
