"""The Python API in a notebook: a shipped notebook executed headless, progress bars, docstrings."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "sweep-in-a-notebook.ipynb"

#: The modules whose public functions must document their parameters (numpydoc).
DOCUMENTED = [
    "analysis",
    "analysis.experiments",
    "analysis.figures",
    "analysis.report",
    "analysis.sensitivity",
    "analysis.statistics",
    "analysis.sweeps",
    "analysis.tables",
]


def test_the_example_notebook_runs_headless(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert "Warning" not in stderr, stderr
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "{'replicates': 2, 'steps': 24}" in text and "big: " in text
    assert "'no_such_column' is not a column" in text
    bundles = [o.get("data", {}) for o in outputs if o.output_type in ("display_data", "execute_result")]
    assert any("application/vnd.jupyter.widget-view+json" in b for b in bundles)  # the progress bar, a widget
    figures = [
        json.loads(b["application/vnd.plotly.v1+json"])
        if isinstance(b["application/vnd.plotly.v1+json"], str)
        else b["application/vnd.plotly.v1+json"]
        for b in bundles
        if "application/vnd.plotly.v1+json" in b
    ]
    names = [[t.get("name") for t in f["data"]] for f in figures]
    assert any("big (reference)" in n for n in names)  # producer profit against integrity, with the group
    assert len(figures) == 3
    assert (tmp_path / "results" / "integrity" / "reference" / "summary.csv").exists()


def test_importing_analysis_in_a_kernel_without_widgets_warns_nothing() -> None:
    """A notebook kernel without ipywidgets: no TqdmWarning on import, and a text progress bar, not an error."""
    script = """
import sys, types, warnings
warnings.simplefilter("error")
class Shell:
    config = {"IPKernelApp": {}}
sys.modules["IPython"] = types.SimpleNamespace(get_ipython=lambda: Shell())
sys.modules["ipywidgets"] = None  # not installed
import analysis
from analysis.experiments import in_notebook, progress_bar
bar = progress_bar(3, "x")
assert in_notebook() and not bar.disable and type(bar).__module__ == "tqdm.std", type(bar)
bar.close()
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr


def _public_functions() -> list[tuple[str, object]]:
    found = []
    for name in DOCUMENTED:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if getattr(obj, "__module__", None) not in DOCUMENTED:
                continue  # re-exported from a module checked elsewhere
            if inspect.isfunction(obj):
                found.append((f"{obj.__module__}.{attr}", obj))
            elif inspect.isclass(obj) and not issubclass(obj, BaseException):
                methods = [(k, v) for k, v in vars(obj).items() if inspect.isfunction(v) and not k.startswith("_")]
                found += [(f"{obj.__module__}.{attr}.{k}", v) for k, v in methods]
    return sorted(set(found), key=lambda item: item[0])


@pytest.mark.parametrize(("name", "function"), _public_functions(), ids=[n for n, _ in _public_functions()])
def test_every_public_function_documents_its_parameters(name: str, function: object) -> None:
    parameters = [p for p in inspect.signature(function).parameters if p not in ("self", "cls")]  # type: ignore[arg-type]
    doc = inspect.getdoc(function) or ""
    if parameters:
        assert "Parameters\n----------" in doc, f"{name} has no numpydoc Parameters section"
        for p in parameters:
            assert p in doc.split("Parameters\n----------")[1], f"{name}: parameter {p!r} is not documented"
