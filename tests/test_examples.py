"""Every script in examples/ runs to the end (or says clearly that its data is absent)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
SKIP_PREFIX = "SKIP:"  # what an example prints first when the real data it needs is absent


def test_there_are_examples():
    assert EXAMPLES, "examples/ holds no script"


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path):
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    done = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800
    )
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    if done.stdout.startswith(SKIP_PREFIX):
        pytest.skip(done.stdout.strip())
    assert any(tmp_path.iterdir()), f"{script.name} wrote nothing to --out"


def test_an_example_without_its_data_says_so(tmp_path: Path):
    script = ROOT / "examples" / "changan_end_to_end.py"
    done = subprocess.run(
        [sys.executable, str(script), "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.startswith(SKIP_PREFIX) and "changan_roads.gpkg" in done.stdout
