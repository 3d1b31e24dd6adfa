# shellcheck shell=bash
# The gateway's own endpoints and refusals: probes, default deny (404), canonical paths (400),
# Accept negotiation (406) and CORS preflights answered at the gateway.
SMOKE_ORIGIN="${SMOKE_CORS_ORIGIN:-http://localhost:3000}"

# gateway_expect LABEL CONDITION_DESCRIPTION COMMAND... -> one extra table row, PASS when COMMAND succeeds
gateway_expect() {
  local label="$1" what="$2"
  shift 2
  if "$@"; then
    PASSED=$((PASSED + 1))
    ROWS+=("$(printf '%-52s | %-4s | %-15s | %s' "$label" "-" "$what" "PASS")")
  else
    FAILED=$((FAILED + 1))
    ROWS+=("$(printf '%-52s | %-4s | %-15s | %s' "$label" "-" "$what" "FAIL")")
    printf 'FAIL %s: %s\n' "$label" "$what" >&2
  fi
}

has_header() { tr -d '\r' <"$TMP_DIR/headers" | grep -qi "^$1:"; }
lacks_header() { ! has_header "$1"; }
header_is() { tr -d '\r' <"$TMP_DIR/headers" | grep -qix "$1: *$2"; }
body_has() { printf '%s' "$LAST_BODY" | grep -q "$1"; }

check "GET /gateway/health" json 200 "$GW/gateway/health"
gateway_expect "GET /gateway/health X-Gateway-Request-ID" "header present" has_header 'X-Gateway-Request-ID'
check "GET /gateway/health" xml 200 "$GW/gateway/health"
gateway_expect "GET /gateway/health <Health>" "XML root" body_has '<Health>'
check "GET /gateway/ready" json 200 "$GW/gateway/ready"
gateway_expect "GET /gateway/ready status" "ready|degraded" body_has '"status":"\(ready\|degraded\)"'
check "GET /gateway/ready" xml 200 "$GW/gateway/ready"
check "GET /gateway/metrics" raw 200 "$GW/gateway/metrics"
gateway_expect "GET /gateway/metrics counters" "Prometheus text" body_has '^gateway_redis_up'

check "GET /no/such/route (default deny)" json 404 "$GW/no/such/route"
gateway_expect "GET /no/such/route code" "REQ_410" body_has '"code":"REQ_410"'
check "GET /no/such/route (default deny)" xml 404 "$GW/no/such/route"
check "GET /auth/internal/users/x (not public)" json 404 "$GW/auth/internal/users/x"

check "GET //users/me (non-canonical path)" json 400 --path-as-is "$GW//users/me"
gateway_expect "GET //users/me code" "REQ_404" body_has '"code":"REQ_404"'
check "GET //users/me (non-canonical path)" xml 400 --path-as-is "$GW//users/me"
check "GET /users/%2e%2e/me (encoded dots)" json 400 --path-as-is "$GW/users/%2e%2e/me"

check "GET /gateway/health (Accept: text/html)" raw 406 -H 'Accept: text/html' "$GW/gateway/health"
gateway_expect "GET Accept: text/html code" "REQ_406" body_has '"code":"REQ_406"'

check "OPTIONS /organization (CORS, allowed origin)" raw 204 -X OPTIONS \
  -H "Origin: $SMOKE_ORIGIN" -H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: authorization,content-type' \
  "$GW/organization"
gateway_expect "OPTIONS allowed origin reflected" "ACAO = origin" header_is 'Access-Control-Allow-Origin' "$SMOKE_ORIGIN"
check "OPTIONS /organization (CORS, other origin)" raw 204 -X OPTIONS \
  -H 'Origin: https://not-allowed.example' -H 'Access-Control-Request-Method: PUT' "$GW/organization"
gateway_expect "OPTIONS other origin refused" "no ACAO" lacks_header 'Access-Control-Allow-Origin'
