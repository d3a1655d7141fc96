"""kreislauf's analysis: runs, replicated comparisons, sweeps, statistics, the command line.

- :mod:`analysis.runs`: run one scenario and write its results folder.
- :mod:`analysis.experiments`: :func:`compare` scenarios over paired replicates, run a :func:`sweep`.
- :mod:`analysis.plan`: what an experiment runs (points, replicates, seeds).
- :mod:`analysis.sweeps`: sweep files and their samplers (grid, Latin hypercube, Sobol, Morris).
- :mod:`analysis.engines`: where runs execute (this process, a local pool, a Dask cluster).
- :mod:`analysis.store`: results folders that survive interruptions.
- :mod:`analysis.statistics`: outcomes, means with confidence intervals, paired differences.
- :mod:`analysis.sensitivity`: Sobol and Morris indices.
- :mod:`analysis.tables`: terminal tables.
- :mod:`analysis.cli`: the ``kreislauf`` command.
"""

from analysis.experiments import Experiment, compare, sweep
from analysis.runs import RunResult, run_scenario, write_run
from analysis.sensitivity import sensitivity

__all__ = ["Experiment", "RunResult", "compare", "run_scenario", "sensitivity", "sweep", "write_run"]
