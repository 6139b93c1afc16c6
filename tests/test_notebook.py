"""The fleet notebook, executed headless on a small fleet made with the CLI, so it never rots."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.report.conftest import LINUX, TO_040, FleetMaker

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "fleet_overview.ipynb"
KJ, IMPACT = "comfyui-kjnodes", "comfyui-impact-pack"


def _make_fleet(maker: FleetMaker, out: Path) -> None:
    at = datetime.now(UTC).replace(microsecond=0)
    hosts = {
        "render-01": {KJ: "1.1.2", IMPACT: "8.8.1"},
        "render-02": {KJ: "1.0.0", IMPACT: "8.8.1", "comfyui-mxtoolkit": "0.9.92"},
        "render-03": {KJ: "1.1.2", IMPACT: "8.7.0", "comfyui-easy-use": "1.3.0"},
    }
    for n, (host, packs) in enumerate(hosts.items()):
        maker.run(out, at.replace(second=n), {host: packs}, *LINUX, *TO_040)


def _isolate_jupyter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the kernel on this interpreter, with no user or system Jupyter settings."""
    kernel = tmp_path / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3",
        "language": "python",
    }
    (kernel / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.delenv("MPLBACKEND", raising=False)


def _set_parameters(notebook: Any, **values: object) -> None:
    (cell,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    lines = cell.source.splitlines()
    for name, value in values.items():
        (index,) = [i for i, line in enumerate(lines) if line.startswith(f"{name} = ")]
        lines[index] = f"{name} = {value!r}"
    cell.source = "\n".join(lines)


def _outputs(notebook: Any) -> list[Any]:
    return [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]


def test_the_fleet_notebook_runs_headless(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "outputs"
    _make_fleet(FleetMaker(tmp_path, monkeypatch), out)
    _isolate_jupyter(tmp_path, monkeypatch)
    import nbformat  # NOTE: imported once the Jupyter paths above are set.
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    _set_parameters(notebook, DATA=str(out), TARGET_COMFYUI="0.4.0")
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()

    outputs = _outputs(notebook)
    assert [o for o in outputs if o.output_type == "error"] == []
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 5  # NOTE: the workflows plot says "no workflows audited" here
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert f"3 hosts from 3 of 3 complete runs (0 incomplete) under {out}" in text
    assert "comfyui-impact-pack" in text
    assert "comfyui-mxtoolkit" in text
    assert "hosts_exposed" in text  # the vulnerabilities section, empty here
