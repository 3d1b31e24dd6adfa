#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2034  # helpers and LAST_* are used by the sourced smoke/*.sh fragments
# Smoke test: exercises every endpoint through the gateway in JSON and XML with curl only,
# prints "endpoint | format | status | time_total" and a global PASS/FAIL (exit 0 only on PASS).
# Usage: scripts/validate_endpoints.sh [GATEWAY_URL]   (default http://localhost:5000)
# The bootstrap admin password comes from ADMIN_PASSWORD / BOOTSTRAP_ADMIN_PASSWORD, or from
# .data/dev-secrets.json written by `pnpm start`.
set -u

GW="${1:-${GATEWAY_URL:-http://localhost:5000}}"
GW="${GW%/}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
ADMIN_EMAIL="${ADMIN_EMAIL:-${BOOTSTRAP_ADMIN_EMAIL:-admin@heartguard.local}}"
ADMIN_PASSWORD="${ADMIN_PASSWORD:-${BOOTSTRAP_ADMIN_PASSWORD:-}}"
if [ -z "$ADMIN_PASSWORD" ] && [ -f "$ROOT_DIR/.data/dev-secrets.json" ]; then
  ADMIN_PASSWORD="$(grep -o '"BOOTSTRAP_ADMIN_PASSWORD": *"[^"]*"' "$ROOT_DIR/.data/dev-secrets.json" | sed 's/.*: *"\(.*\)"/\1/')"
fi
RUN_ID="$(date +%s)$$"
TMP_DIR="$(mktemp -d)"
trap 'rm -rf "$TMP_DIR"' EXIT

PASSED=0
FAILED=0
LAST_BODY=""
LAST_STATUS=""
ROWS=()

# check LABEL FORMAT EXPECTED_STATUS CURL_ARGS...
# FORMAT json|xml sets Accept; "raw" sends no Accept override. A 429 from the rate limiter is
# honoured (wait Retry-After, retry) unless 429 is what the check expects.
check() {
  local label="$1" format="$2" expected="$3"
  shift 3
  local accept=()
  case "$format" in
    json) accept=(-H 'Accept: application/json') ;;
    xml) accept=(-H 'Accept: application/xml') ;;
  esac
  local attempt out status time_total
  for attempt in 1 2 3 4 5; do
    out="$(curl -sS -o "$TMP_DIR/body" -D "$TMP_DIR/headers" -w '%{http_code} %{time_total}' --max-time 30 "${accept[@]}" "$@" 2>"$TMP_DIR/err")" || out="000 0"
    status="${out%% *}"
    time_total="${out##* }"
    if [ "$status" = "429" ] && [ "$expected" != "429" ] && [ "$attempt" -lt 5 ]; then
      local wait_s
      wait_s="$(grep -i '^retry-after:' "$TMP_DIR/headers" | tr -dc '0-9')"
      sleep "${wait_s:-1}"
      continue
    fi
    break
  done
  LAST_STATUS="$status"
  LAST_BODY="$(cat "$TMP_DIR/body" 2>/dev/null)"
  local verdict="PASS"
  if [ "$status" != "$expected" ]; then
    verdict="FAIL"
    FAILED=$((FAILED + 1))
    printf 'FAIL %s [%s]: expected %s got %s: %s\n' "$label" "$format" "$expected" "$status" "$(head -c 300 "$TMP_DIR/body" 2>/dev/null; cat "$TMP_DIR/err")" >&2
  else
    PASSED=$((PASSED + 1))
  fi
  ROWS+=("$(printf '%-52s | %-4s | %-3s (want %-3s) | %ss | %s' "$label" "$format" "$status" "$expected" "$time_total" "$verdict")")
}

# extract_json KEY BODY -> first string or scalar value of "KEY"
extract_json() {
  printf '%s' "$2" | grep -o "\"$1\":\(\"[^\"]*\"\|[^,}]*\)" | head -n 1 | sed "s/^\"$1\"://; s/^\"//; s/\"$//"
}

# extract_xml ELEMENT BODY -> text of the first <ELEMENT>
extract_xml() {
  printf '%s' "$2" | grep -o "<$1>[^<]*</$1>" | head -n 1 | sed 's/<[^>]*>//g'
}

bearer() { printf 'Authorization: Bearer %s' "$1"; }

echo "HeartGuard smoke test against $GW (run $RUN_ID)"
if [ -z "$ADMIN_PASSWORD" ]; then
  echo "No admin password: set ADMIN_PASSWORD (or run against 'pnpm start' from this checkout)." >&2
  exit 2
fi

for fragment in "$SCRIPT_DIR"/smoke/*.sh; do
  # shellcheck source=/dev/null
  . "$fragment"
done

echo
printf '%-52s | %-4s | %-15s | %s\n' "endpoint" "fmt" "status" "time_total"
printf '%s\n' "-----------------------------------------------------+------+-----------------+-----------"
printf '%s\n' "${ROWS[@]}"
echo
echo "$PASSED passed, $FAILED failed"
if [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]; then
  echo "PASS"
  exit 0
fi
echo "FAIL"
exit 1
