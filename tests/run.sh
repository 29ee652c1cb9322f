#!/usr/bin/env bash
# Set up and run the whole test suite on a fresh machine: the README's test command, and CI's.
set -euo pipefail
cd "$(dirname "$0")/.."

# The suite starts its own real PostgreSQL (with pgvector) and Redis from the wheels it installs
# (tests/conftest.py); set FRAMEWISE_TEST_POSTGRES / FRAMEWISE_TEST_REDIS to use servers of yours.

# The admin page tests (tests/admin) drive Debian's chromium through chromium-driver; install them
# when missing and we may (root with apt), and say what is missing otherwise.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "tests/run.sh: tests/admin need chromium and chromium-driver (apt-get install chromium chromium-driver)" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
. .venv/bin/activate
# torch is pinned to the CPU build in pyproject.toml; an unpinned one would pull CUDA.
pip install --quiet --disable-pip-version-check -e '.[test]'
framewise models fetch
exec python -m pytest "$@"
