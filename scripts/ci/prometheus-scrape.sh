#!/usr/bin/env bash
# Real Prometheus (Debian's `prometheus` + `promtool`) against a running mesh, for CI.
#
#   scripts/ci/prometheus-scrape.sh run <gateway-url> [-- <command> [args...]]
#       start, assert-up, check-metrics, then <command> (default: a few gateway requests),
#       then assert-moved; Prometheus is stopped by PID whatever happens (trap).
#   scripts/ci/prometheus-scrape.sh start|assert-up|check-metrics|assert-moved|stop <gateway-url>
#       the same steps one at a time; state is kept in $PROM_CI_DIR
#       (default: ${TMPDIR:-/tmp}/heartguard-prometheus-ci). Always call `stop`.
#
# Targets: the gateway URL's host, on ports P..P+6 for gateway, auth, organization, user, media,
# timeseries, audit, where P is the gateway URL's port (5000 under `pnpm start`).
#
# What it asserts:
#   assert-up      every job's `up` is 1 (via /api/v1/query), within PROM_CI_UP_TIMEOUT seconds;
#                  records each job's request count (http_requests_total without /metrics scrapes)
#   check-metrics  `promtool check metrics` on each service's /metrics: parse errors always fail;
#                  lint findings fail unless listed in scripts/ci/promtool-lint-allow.txt
#   assert-moved   the gateway's request count, as Prometheus scraped it, rose after the command
#                  (within PROM_CI_MOVE_TIMEOUT seconds); prints every job's delta
set -euo pipefail

readonly SERVICES=(gateway auth organization user media timeseries audit)
ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly ROOT_DIR
readonly TEMPLATE="$ROOT_DIR/prometheus/ci-scrape.yml.tmpl"
LINT_ALLOW="${PROM_CI_LINT_ALLOW:-$ROOT_DIR/scripts/ci/promtool-lint-allow.txt}"
UP_TIMEOUT="${PROM_CI_UP_TIMEOUT:-60}"
MOVE_TIMEOUT="${PROM_CI_MOVE_TIMEOUT:-20}"
STATE_DIR="${PROM_CI_DIR:-${TMPDIR:-/tmp}/heartguard-prometheus-ci}"
HOST=""
BASE_PORT=""

log() { printf 'prometheus-scrape: %s\n' "$*"; }
die() { printf 'prometheus-scrape: FAIL: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 64
}

parse_gateway_url() {
  local url="${1%/}" hostport
  hostport="${url#*://}"
  hostport="${hostport%%/*}"
  case "$hostport" in
    *:*) HOST="${hostport%:*}"; BASE_PORT="${hostport##*:}" ;;
    *) HOST="$hostport"; BASE_PORT=80 ;;
  esac
  [[ "$HOST" == localhost ]] && HOST=127.0.0.1
  [[ "$BASE_PORT" =~ ^[0-9]+$ ]] || die "cannot read a port from gateway URL '$1'"
}

service_port() {
  local i
  for i in "${!SERVICES[@]}"; do
    if [[ "${SERVICES[$i]}" == "$1" ]]; then
      echo $((BASE_PORT + i))
      return
    fi
  done
  die "unknown service $1"
}

prom_port() { cat "$STATE_DIR/port"; }

# Prints the value of an instant query's sample ("" when the result is empty); callers only ask
# single-series queries (min(...), sum(...)).
prom_value() {
  local json
  json="$(curl -fsS --max-time 5 -G --data-urlencode "query=$1" "http://127.0.0.1:$(prom_port)/api/v1/query")" || return 0
  printf '%s' "$json" | grep -q '"status":"success"' || return 0
  printf '%s' "$json" | sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p'
}

requests_query() {
  # Prometheus' own scrapes of /metrics would move the counter by themselves; leave them out.
  printf 'sum(http_requests_total{job="%s",route!="/metrics"}) or vector(0)' "$1"
}

free_port() {
  node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close();});"
}

cmd_start() {
  command -v prometheus >/dev/null || die "prometheus is not installed (apt-get install prometheus)"
  if [[ -f "$STATE_DIR/pid" ]] && kill -0 "$(cat "$STATE_DIR/pid")" 2>/dev/null; then
    die "a Prometheus from an earlier start is still running (pid $(cat "$STATE_DIR/pid")); run stop first"
  fi
  rm -rf "$STATE_DIR"
  mkdir -p "$STATE_DIR/data"
  local config="$STATE_DIR/prometheus.yml" sed_args=(-e "s/@HOST@/$HOST/g") service
  for service in "${SERVICES[@]}"; do
    sed_args+=(-e "s/@PORT_${service^^}@/$(service_port "$service")/g")
  done
  sed "${sed_args[@]}" "$TEMPLATE" >"$config"
  promtool check config "$config" >/dev/null || die "generated config $config does not pass promtool check config"

  local attempt port pid
  for attempt in 1 2 3; do
    port="$(free_port)"
    prometheus --config.file="$config" --storage.tsdb.path="$STATE_DIR/data" \
      --storage.tsdb.retention.time=1h --web.listen-address="127.0.0.1:$port" \
      --log.level=warn >"$STATE_DIR/prometheus.log" 2>&1 &
    pid=$!
    echo "$pid" >"$STATE_DIR/pid"
    echo "$port" >"$STATE_DIR/port"
    local waited=0
    while ((waited < 150)); do
      if ! kill -0 "$pid" 2>/dev/null; then
        break
      fi
      if curl -fsS --max-time 1 "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
        log "Prometheus $(prometheus --version 2>&1 | sed -n '1s/^prometheus, version \([^ ]*\).*/\1/p') ready on 127.0.0.1:$port (pid $pid), scraping $HOST:$BASE_PORT..$((BASE_PORT + ${#SERVICES[@]} - 1)) every 1 s"
        return 0
      fi
      sleep 0.2
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      cmd_stop
      die "Prometheus did not become ready within 30 s; log: $(tail -5 "$STATE_DIR/prometheus.log" 2>/dev/null)"
    fi
    log "Prometheus exited at start (attempt $attempt, port $port): $(tail -2 "$STATE_DIR/prometheus.log")"
    rm -f "$STATE_DIR/pid"
  done
  die "Prometheus would not start"
}

cmd_stop() {
  local pid_file="$STATE_DIR/pid" pid i
  if [[ -f "$pid_file" ]]; then
    pid="$(cat "$pid_file")"
    # Only the process this script started: the PID file could outlive it and the PID be reused.
    if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "prometheus --config.file=$STATE_DIR/"; then
      kill -TERM "$pid" 2>/dev/null || true
      for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      if kill -0 "$pid" 2>/dev/null; then
        log "Prometheus (pid $pid) ignored SIGTERM for 5 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      wait "$pid" 2>/dev/null || true
      log "Prometheus (pid $pid) stopped"
    fi
    rm -f "$pid_file"
  fi
  rm -rf "$STATE_DIR"
}

cmd_assert_up() {
  local deadline=$((SECONDS + UP_TIMEOUT)) service value down=()
  while :; do
    down=()
    for service in "${SERVICES[@]}"; do
      value="$(prom_value "min(up{job=\"$service\"})")"
      [[ "$value" == 1 ]] || down+=("$service=${value:-no sample}")
    done
    ((${#down[@]} == 0)) && break
    if ((SECONDS >= deadline)); then
      # One line per target: its URL and Prometheus' last scrape error.
      curl -fsS "http://127.0.0.1:$(prom_port)/api/v1/targets?state=active" 2>/dev/null |
        grep -oE '"scrapeUrl":"[^"]*"|"lastError":"([^"\\]|\\.)*"' | paste - - | sed 's/^/  /' >&2 || true
      die "targets not up after ${UP_TIMEOUT}s: ${down[*]}"
    fi
    sleep 1
  done
  : >"$STATE_DIR/baseline"
  printf '%-14s %-22s %s\n' job target "up  requests"
  for service in "${SERVICES[@]}"; do
    value="$(prom_value "$(requests_query "$service")")"
    echo "$service ${value:-0}" >>"$STATE_DIR/baseline"
    printf '%-14s %-22s %s\n' "$service" "$HOST:$(service_port "$service")" "1   ${value:-0}"
  done
  log "PASS: all ${#SERVICES[@]} targets up == 1"
}

cmd_check_metrics() {
  local service url body lint rc failed=0 families allowed
  for service in "${SERVICES[@]}"; do
    url="http://$HOST:$(service_port "$service")/metrics"
    body="$STATE_DIR/metrics-$service.txt"
    if ! curl -fsS --max-time 5 "$url" -o "$body"; then
      log "$service: cannot fetch $url"
      failed=1
      continue
    fi
    rc=0
    lint="$(promtool check metrics <"$body" 2>&1)" || rc=$?
    families="$(grep -c '^# TYPE ' "$body" || true)"
    if ((rc == 0)); then
      log "$service: promtool check metrics OK ($families metric families)"
      continue
    fi
    if ((rc != 3)); then
      # 1 is a parse error: the exposition itself is broken.
      log "$service: promtool check metrics failed (exit $rc): $lint"
      failed=1
      continue
    fi
    local unexpected
    unexpected="$(printf '%s\n' "$lint" | grep -v '^$' | grep -vxFf <(grep -v '^#' "$LINT_ALLOW" | grep -v '^$') || true)"
    allowed="$(printf '%s\n' "$lint" | grep -v '^$' | grep -cxFf <(grep -v '^#' "$LINT_ALLOW" | grep -v '^$') || true)"
    if [[ -n "$unexpected" ]]; then
      log "$service: promtool lint problems:"
      printf '%s\n' "$unexpected" | sed 's/^/    /' >&2
      failed=1
    else
      log "$service: promtool check metrics OK ($families metric families; $allowed known prom-client lint notes allowed)"
    fi
  done
  ((failed == 0)) || die "promtool check metrics found problems"
  log "PASS: every /metrics parses and lints clean"
}

cmd_assert_moved() {
  [[ -f "$STATE_DIR/baseline" ]] || die "no baseline: run assert-up first"
  local before now service delta deadline=$((SECONDS + MOVE_TIMEOUT))
  before="$(awk '$1 == "gateway" { print $2 }' "$STATE_DIR/baseline")"
  while :; do
    now="$(prom_value "$(requests_query gateway)")"
    if [[ -n "$now" ]] && awk -v a="$now" -v b="$before" 'BEGIN { exit !(a > b) }'; then
      break
    fi
    ((SECONDS < deadline)) || die "gateway request counter did not move within ${MOVE_TIMEOUT}s (before $before, now ${now:-no sample})"
    sleep 1
  done
  for service in "${SERVICES[@]}"; do
    before="$(awk -v s="$service" '$1 == s { print $2 }' "$STATE_DIR/baseline")"
    now="$(prom_value "$(requests_query "$service")")"
    delta="$(awk -v a="${now:-0}" -v b="${before:-0}" 'BEGIN { printf "%d", a - b }')"
    printf '%-14s requests %8s -> %-8s (+%s)\n' "$service" "${before:-0}" "${now:-0}" "$delta"
  done
  log "PASS: the gateway's http_requests_total moved, as scraped by Prometheus"
}

default_traffic() {
  local i url="${GATEWAY_URL%/}/gateway/health"
  log "no command given: sending 5 requests to $url"
  for i in 1 2 3 4 5; do
    curl -fsS --max-time 5 -o /dev/null "$url" || die "GET $url failed (request $i)"
  done
}

cmd_run() {
  STATE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/heartguard-prometheus-ci.XXXXXX")"
  trap cmd_stop EXIT
  trap 'exit 130' INT TERM
  cmd_start
  cmd_assert_up
  cmd_check_metrics
  local rc=0
  if (($# > 0)); then
    log "running: $*"
    "$@" || rc=$?
    ((rc == 0)) || log "command exited with $rc"
  else
    default_traffic
  fi
  cmd_assert_moved
  return "$rc"
}

main() {
  (($# >= 2)) || usage
  local command="$1"
  GATEWAY_URL="$2"
  shift 2
  parse_gateway_url "$GATEWAY_URL"
  case "$command" in
    run)
      if (($# > 0)); then
        [[ "$1" == -- ]] || usage
        shift
      fi
      cmd_run "$@"
      ;;
    start) cmd_start ;;
    assert-up) cmd_assert_up ;;
    check-metrics) cmd_check_metrics ;;
    assert-moved) cmd_assert_moved ;;
    stop) cmd_stop ;;
    *) usage ;;
  esac
}

main "$@"
