#!/usr/bin/env bash
# The test suite: everything in .venv (CPU torch), then the optional Inception metrics' tests in
# .venv-inception (torch-fidelity). About 2.5 minutes once the venvs exist; creating them takes about 3
# minutes and 6 GB. GANFORGE_SKIP_INCEPTION=1 skips the second part. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
if [ "${GANFORGE_SKIP_INCEPTION:-0}" = 1 ]; then
  scripts/setup.sh --browser
  exec .venv/bin/python -m pytest -q "$@"
fi
scripts/setup.sh --browser --inception
.venv/bin/python -m pytest -q "$@"
exec .venv-inception/bin/python -m pytest -q tests/metrics/test_fidelity.py
