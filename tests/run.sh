#!/usr/bin/env bash
# Set up and run the whole test suite on a fresh machine: the README's test command, and CI's.
set -euo pipefail
cd "$(dirname "$0")/.."

# The suite talks to a real PostgreSQL and Redis on this machine; start them if they are down.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
. .venv/bin/activate
# torch is pinned to the CPU build in pyproject.toml; an unpinned one would pull CUDA.
pip install --quiet --disable-pip-version-check -e '.[test]'
framewise models fetch
exec python -m pytest "$@"
