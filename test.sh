#!/usr/bin/env bash
# The test suite (about 15 s on 2 CPU cores once .venv exists); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
