"""kreislauf's analysis: running scenarios and writing their results, the command line.

- :mod:`analysis.runs`: run one scenario and write its results folder.
- :mod:`analysis.cli`: the ``kreislauf`` command.
"""

from analysis.runs import RunResult, run_scenario, write_run

__all__ = ["RunResult", "run_scenario", "write_run"]
