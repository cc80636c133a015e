#!/usr/bin/env bash
# Build the HTML API reference from the docstrings into docs/api/ (git-ignored), or into the folder given.
# Needs the [docs] extra:  .venv/bin/pip install -e ".[docs]"
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
exec "$PY" docs/build_api.py "$@"
