#!/usr/bin/env bash
# Options alone mean redis-server with those options. Protected mode is off because the pod network,
# not a loopback bind, is what keeps this instance private (NetworkPolicy in the cluster).
set -euo pipefail
if [[ $# -eq 0 || "$1" == -* ]]; then
  set -- redis-server "$@"
fi
if [[ "$1" == redis-server ]]; then
  shift
  exec redis-server --bind 0.0.0.0 --protected-mode no "$@"
fi
exec "$@"
