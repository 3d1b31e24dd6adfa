#!/usr/bin/env bash
# Stops the docker-compose stack started by scripts/start_services.sh. Containers get SIGTERM
# and their stop_grace_period (services finish in-flight requests first).
#
#   scripts/stop_services.sh            stop and remove containers and networks; keep the data
#   scripts/stop_services.sh --volumes  also delete the named volumes (PostgreSQL, Redis,
#                                       InfluxDB, Prometheus, media): all data is lost
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT_DIR
cd "$ROOT_DIR"

die() { printf 'stop_services: %s\n' "$*" >&2; exit 1; }

DOWN_ARGS=(--remove-orphans)
for arg in "$@"; do
  case "$arg" in
    -v | --volumes) DOWN_ARGS+=(--volumes) ;;
    -h | --help) sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $arg (try --help)" ;;
  esac
done

if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  COMPOSE=(docker-compose)
else
  die "neither 'docker compose' (v2 plugin) nor 'docker-compose' (v1) is installed"
fi

# Compose interpolates the whole file even to stop it; without .env the required secrets would be
# missing, so fall back to the placeholders (only names matter for `down`).
ENV_ARGS=()
[[ -f .env ]] || ENV_ARGS=(--env-file .env.example)

"${COMPOSE[@]}" "${ENV_ARGS[@]}" down "${DOWN_ARGS[@]}"
printf 'stop_services: stopped (%s down %s)\n' "${COMPOSE[*]}" "${DOWN_ARGS[*]}"
