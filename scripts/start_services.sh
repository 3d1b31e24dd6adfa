#!/usr/bin/env bash
# Starts the production-shaped stack (docker-compose.yml): builds the image, starts every
# container, waits until each reports healthy, then prints where things are.
#
#   scripts/start_services.sh [--no-build]
#
# Needs a Docker engine and Compose (the `docker compose` plugin, or docker-compose v1).
# Reads .env; when there is none, writes one from .env.example with a fresh random value for
# every change-me-… placeholder (mode 600). Refuses to start while .env still holds placeholders.
#
# Environment: START_TIMEOUT  seconds to wait for every health check (default 300)
#              GATEWAY_REPLICAS overrides .env (needs GATEWAY_PUBLISH_PORTS to be a range that large)
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT_DIR
cd "$ROOT_DIR"

START_TIMEOUT="${START_TIMEOUT:-300}"
BUILD=(--build)
COMPOSE=()

die() { printf 'start_services: %s\n' "$*" >&2; exit 1; }
say() { printf 'start_services: %s\n' "$*"; }

for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=() ;;
    -h | --help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $arg (try --help)" ;;
  esac
done

detect_compose() {
  if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
  else
    die "neither 'docker compose' (v2 plugin) nor 'docker-compose' (v1) is installed"
  fi
  docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed); start Docker first"
}

random_secret() {
  # 48 hex characters: URL-safe (passwords end up inside DATABASE_URL/REDIS_URL) and >= 32.
  od -An -tx1 -N24 /dev/urandom | tr -d ' \n'
}

ensure_env_file() {
  if [[ ! -f .env ]]; then
    [[ -f .env.example ]] || die ".env.example is missing"
    local line count=0
    (
      umask 077
      while IFS= read -r line || [[ -n "$line" ]]; do
        if [[ "$line" =~ ^([A-Z][A-Z0-9_]*)=change-me ]]; then
          printf '%s=%s\n' "${BASH_REMATCH[1]}" "$(random_secret)"
        else
          printf '%s\n' "$line"
        fi
      done <.env.example >.env
    )
    count="$(grep -c '^[A-Z][A-Z0-9_]*=[0-9a-f]\{48\}$' .env || true)"
    say "no .env: wrote one from .env.example with $count random secrets (mode 600); review it before production use"
  fi
  local placeholders
  placeholders="$(grep -E '^[A-Z][A-Z0-9_]*=change-me' .env | cut -d= -f1 | tr '\n' ' ' || true)"
  [[ -z "$placeholders" ]] || die ".env still holds change-me placeholders: $placeholders"
}

env_value() {
  # Last assignment in .env wins, as in Compose; the process environment overrides both.
  local name="$1" fallback="$2" value
  value="${!name:-}"
  [[ -n "$value" ]] || value="$(sed -n "s/^$name=//p" .env | tail -1)"
  printf '%s' "${value:-$fallback}"
}

check_replicas() {
  REPLICAS="$(env_value GATEWAY_REPLICAS 1)"
  [[ "$REPLICAS" =~ ^[1-9][0-9]*$ ]] || die "GATEWAY_REPLICAS must be a positive integer, got '$REPLICAS'"
  local ports first last
  ports="$(env_value GATEWAY_PUBLISH_PORTS 5000)"
  if [[ "$ports" =~ ^([0-9]+)-([0-9]+)$ ]]; then
    first="${BASH_REMATCH[1]}"
    last="${BASH_REMATCH[2]}"
  elif [[ "$ports" =~ ^[0-9]+$ ]]; then
    first="$ports"
    last="$ports"
  else
    die "GATEWAY_PUBLISH_PORTS must be a port or a range like 5000-5003, got '$ports'"
  fi
  if ((last - first + 1 < REPLICAS)); then
    die "GATEWAY_REPLICAS=$REPLICAS needs GATEWAY_PUBLISH_PORTS to span $REPLICAS ports (e.g. $first-$((first + REPLICAS - 1))), it is '$ports'"
  fi
}

show_logs() {
  local id="$1"
  printf -- '--- last log lines of %s\n' "$(docker inspect -f '{{.Name}}' "$id" | sed 's#^/##')" >&2
  docker logs --tail 40 "$id" 2>&1 | sed 's/^/    /' >&2
}

# Waits until every container of the project is running and healthy (each one has a health check).
wait_healthy() {
  local expected=$((10 + REPLICAS)) deadline=$((SECONDS + START_TIMEOUT)) last_report=-1
  local ids id name status health healthy pending
  while :; do
    mapfile -t ids < <("${COMPOSE[@]}" ps -a -q)
    healthy=0
    pending=()
    for id in "${ids[@]}"; do
      [[ -n "$id" ]] || continue
      IFS='|' read -r name status health < <(docker inspect -f '{{.Name}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id")
      name="${name#/}"
      case "$status/$health" in
        running/healthy) healthy=$((healthy + 1)) ;;
        running/starting | created/* | restarting/*) pending+=("$name($status/$health)") ;;
        *)
          show_logs "$id"
          die "$name is $status/$health"
          ;;
      esac
    done
    if ((healthy >= expected)); then
      say "all $healthy containers healthy"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      for id in "${ids[@]}"; do
        [[ "$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")" == healthy ]] || show_logs "$id"
      done
      die "not healthy after ${START_TIMEOUT}s ($healthy/$expected healthy): ${pending[*]:-containers missing}"
    fi
    if ((SECONDS / 10 != last_report)); then
      last_report=$((SECONDS / 10))
      say "waiting: $healthy/$expected healthy; ${pending[*]:-creating containers}"
    fi
    sleep 2
  done
}

print_summary() {
  local index address url urls=()
  for ((index = 1; index <= REPLICAS; index++)); do
    address="$("${COMPOSE[@]}" port --index="$index" gateway 5000 2>/dev/null | tail -1)"
    [[ -n "$address" ]] || continue
    url="http://${address/0.0.0.0/localhost}"
    urls+=("$url")
  done
  ((${#urls[@]} > 0)) || die "gateway publishes no port"
  if command -v curl >/dev/null; then
    for url in "${urls[@]}"; do
      curl -fsS --max-time 5 -o /dev/null "$url/gateway/ready" || die "$url/gateway/ready does not answer 200"
    done
  fi
  cat <<EOF

HeartGuard is up (${COMPOSE[*]}, project ${COMPOSE_PROJECT_NAME:-$(env_value COMPOSE_PROJECT_NAME "$(basename "$ROOT_DIR")")}).
  Gateway:          ${urls[*]}
  Bootstrap admin:  $(env_value BOOTSTRAP_ADMIN_EMAIL admin@heartguard.local) (password: BOOTSTRAP_ADMIN_PASSWORD in .env)
  Health:           ${urls[0]}/gateway/health   ${urls[0]}/<service>/ready
  Metrics:          ${urls[0]}/<service>/metrics; Prometheus runs unpublished on the internal
                    network: ${COMPOSE[*]} exec prometheus wget -qO- http://127.0.0.1:9090/api/v1/targets
  Smoke test:       bash scripts/validate_endpoints.sh ${urls[0]}
  Logs:             ${COMPOSE[*]} logs -f gateway
  Stop:             scripts/stop_services.sh   (add --volumes to delete all data)
EOF
}

detect_compose
ensure_env_file
check_replicas
# BuildKit for docker-compose v1 too (v2 always uses it).
export DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1
say "starting with ${COMPOSE[*]} (gateway replicas: $REPLICAS)"
if ! "${COMPOSE[@]}" up -d "${BUILD[@]}" --remove-orphans --scale "gateway=$REPLICAS"; then
  "${COMPOSE[@]}" ps >&2 || true
  die "compose up failed"
fi
wait_healthy
print_summary
