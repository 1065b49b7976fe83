#!/usr/bin/env bash
# The test suite (about N minutes on 2 CPU cores); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
