#!/usr/bin/env bash
# Options alone mean redis-server with those options. Protected mode is off, as in the official
# image: clients are other pods, and with no password protected mode would refuse every one of them.
set -euo pipefail
if [[ $# -eq 0 || "$1" == -* ]]; then
  set -- redis-server "$@"
fi
if [[ "$1" == redis-server ]]; then
  shift
  exec redis-server --bind 0.0.0.0 --protected-mode no "$@"
fi
exec "$@"
