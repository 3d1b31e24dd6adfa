#!/usr/bin/env bash
# Tests scripts/start_services.sh and scripts/stop_services.sh without a Docker engine: the real
# scripts run in a scratch copy of the repository with `docker`, `docker-compose` and `curl`
# replaced by stubs on PATH that play the engine's part (containers that become healthy, one that
# turns unhealthy, one that never finishes starting) and record how Compose was called.
#
#   scripts/ci/test-operator-scripts.sh

# The expectations are single-quoted on purpose: expect() evaluates them after each run.
# shellcheck disable=SC2016
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly ROOT_DIR
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/operator-scripts.XXXXXX")"
readonly SCRATCH
trap 'rm -rf "$SCRATCH"' EXIT

passed=0
failed=0

write_stubs() {
  local bin="$1"
  mkdir -p "$bin"
  # docker: "compose" exists only when FAKE_V2=1; inspect reports a container healthy from its second
  # look on, except the ones FAKE_MODE makes unhealthy or forever starting.
  cat >"$bin/docker" <<'STUB'
#!/usr/bin/env bash
set -eu
state="$FAKE_STATE"
if [[ "${1:-}" == compose ]]; then
  [[ "${FAKE_V2:-0}" == 1 ]] || { echo "docker: 'compose' is not a docker command." >&2; exit 1; }
  shift
  exec docker-compose "$@"
fi
case "${1:-}" in
  info) exit 0 ;;
  logs) echo "fake log of ${*: -1}"; exit 0 ;;
  inspect)
    id="${*: -1}"
    format="$3"
    looks=$(( $(cat "$state/$id.looks" 2>/dev/null || echo 0) + 1 ))
    echo "$looks" >"$state/$id.looks"
    health=starting
    (( looks > 1 )) && health=healthy
    [[ "${FAKE_MODE:-ok}" == unhealthy && "$id" == c3 && $looks -gt 1 ]] && health=unhealthy
    [[ "${FAKE_MODE:-ok}" == slow && "$id" == c2 ]] && health=starting
    case "$format" in
      '{{.Name}}') echo "/heartguard-$id" ;;
      *'.State.Status'*) echo "/heartguard-$id|running|$health" ;;
      *) echo "$health" ;;
    esac
    ;;
  *) echo "docker stub: unexpected $*" >&2; exit 2 ;;
esac
STUB
  cat >"$bin/docker-compose" <<'STUB'
#!/usr/bin/env bash
set -eu
state="$FAKE_STATE"
echo "$*" >>"$state/compose.log"
args=" $* "
case "$args" in
  *" version "*) echo "docker-compose version 1.29.2" ;;
  *" up "*)
    replicas="$(sed -n 's/.*--scale gateway=\([0-9]*\).*/\1/p' <<<"$args")"
    for i in $(seq 1 $((10 + ${replicas:-1}))); do : >"$state/c$i"; done
    ;;
  *" ps "*) (cd "$state" && ls | grep -E '^c[0-9]+$' | sort -V) || true ;;
  *" port "*)
    index="$(sed -n 's/.*--index=\([0-9]*\).*/\1/p' <<<"$args")"
    echo "0.0.0.0:$((4999 + ${index:-1}))"
    ;;
  *" down "*) rm -f "$state"/c[0-9]* ;;
  *) echo "docker-compose stub: unexpected $*" >&2; exit 2 ;;
esac
STUB
  printf '#!/bin/sh\nexit 0\n' >"$bin/curl"
  chmod +x "$bin/docker" "$bin/docker-compose" "$bin/curl"
}

# new_repo <name>: a scratch checkout with the operator scripts and the files they read.
new_repo() {
  local repo="$SCRATCH/$1"
  mkdir -p "$repo/scripts" "$repo/state"
  cp "$ROOT_DIR/scripts/start_services.sh" "$ROOT_DIR/scripts/stop_services.sh" "$repo/scripts/"
  cp "$ROOT_DIR/.env.example" "$ROOT_DIR/docker-compose.yml" "$repo/"
  write_stubs "$repo/bin"
  echo "$repo"
}

# run_in <repo> <env...> -- <command...>: output in $repo/out, exit code echoed.
run_in() {
  local repo="$1" rc=0
  shift
  local envs=()
  while [[ "$1" != -- ]]; do envs+=("$1"); shift; done
  shift
  (cd "$repo" && env -i PATH="$repo/bin:$PATH" HOME="$SCRATCH" FAKE_STATE="$repo/state" "${envs[@]}" "$@") >"$repo/out" 2>&1 || rc=$?
  echo "$rc"
}

expect() {
  local label="$1" condition="$2" repo="$3"
  if eval "$condition"; then
    printf 'PASS  %s\n' "$label"
    passed=$((passed + 1))
  else
    printf 'FAIL  %s\n      condition: %s\n' "$label" "$condition"
    sed 's/^/      | /' "$repo/out"
    failed=$((failed + 1))
  fi
}

repo="$(new_repo fresh)"
rc="$(run_in "$repo" START_TIMEOUT=20 -- bash scripts/start_services.sh)"
expect "when there is no .env, then start writes one with random secrets and the stack comes up healthy" \
  '[[ $rc == 0 ]] && grep -q "all 11 containers healthy" "$repo/out" && ! grep -qE "^[A-Z0-9_]+=change-me" "$repo/.env" &&
   [[ $(stat -c %a "$repo/.env") == 600 ]] && grep -qE "^JWT_SECRET=[0-9a-f]{48}$" "$repo/.env"' "$repo"
expect "when it starts, then compose is called with --build and one gateway replica, and the URL is printed" \
  'grep -q "up -d --build --remove-orphans --scale gateway=1" "$repo/state/compose.log" &&
   grep -q "Gateway:          http://localhost:5000$" "$repo/out"' "$repo"
rc="$(run_in "$repo" -- bash scripts/stop_services.sh --volumes)"
expect "when stop runs with --volumes, then compose down removes orphans and volumes" \
  '[[ $rc == 0 ]] && grep -q "down --remove-orphans --volumes" "$repo/state/compose.log"' "$repo"

repo="$(new_repo placeholders)"
cp "$repo/.env.example" "$repo/.env"
rc="$(run_in "$repo" -- bash scripts/start_services.sh)"
expect "when .env still holds change-me placeholders, then start refuses and names them" \
  '[[ $rc != 0 ]] && grep -q "change-me placeholders: POSTGRES_PASSWORD" "$repo/out" && ! grep -qs " up " "$repo/state/compose.log"' "$repo"

repo="$(new_repo replicas-bad)"
rc="$(run_in "$repo" GATEWAY_REPLICAS=3 -- bash scripts/start_services.sh)"
expect "when three gateway replicas are asked for on one published port, then start refuses before compose up" \
  '[[ $rc != 0 ]] && grep -q "GATEWAY_REPLICAS=3 needs GATEWAY_PUBLISH_PORTS to span 3 ports" "$repo/out" && ! grep -qs " up " "$repo/state/compose.log"' "$repo"

repo="$(new_repo replicas)"
rc="$(run_in "$repo" GATEWAY_REPLICAS=2 GATEWAY_PUBLISH_PORTS=5000-5001 START_TIMEOUT=20 -- bash scripts/start_services.sh --no-build)"
expect "when two replicas share a port range, then compose scales the gateway to 2 and both URLs are printed" \
  '[[ $rc == 0 ]] && grep -q "up -d --remove-orphans --scale gateway=2" "$repo/state/compose.log" &&
   grep -q "all 12 containers healthy" "$repo/out" && grep -q "http://localhost:5000 http://localhost:5001" "$repo/out"' "$repo"

repo="$(new_repo unhealthy)"
rc="$(run_in "$repo" FAKE_MODE=unhealthy START_TIMEOUT=20 -- bash scripts/start_services.sh)"
expect "when a container turns unhealthy, then start fails at once and shows its logs" \
  '[[ $rc != 0 ]] && grep -q "heartguard-c3 is running/unhealthy" "$repo/out" && grep -q "fake log of c3" "$repo/out"' "$repo"

repo="$(new_repo slow)"
rc="$(run_in "$repo" FAKE_MODE=slow START_TIMEOUT=5 -- bash scripts/start_services.sh)"
expect "when a container never becomes healthy, then start gives up after START_TIMEOUT and names it" \
  '[[ $rc != 0 ]] && grep -q "not healthy after 5s (10/11 healthy): heartguard-c2(running/starting)" "$repo/out"' "$repo"

repo="$(new_repo compose-v2)"
rc="$(run_in "$repo" FAKE_V2=1 START_TIMEOUT=20 -- bash scripts/start_services.sh)"
expect "when the docker compose v2 plugin exists, then it is preferred over docker-compose" \
  '[[ $rc == 0 ]] && grep -q "starting with docker compose " "$repo/out"' "$repo"

printf '\noperator-scripts: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
