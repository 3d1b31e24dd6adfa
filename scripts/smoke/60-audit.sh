# shellcheck shell=bash
# Audit service through the gateway: the admin reads the trail (JSON and XML, filters, cursor
# pages) and verifies the hash chain; users may neither read nor write it (writes are for
# service tokens only). Needs ADMIN_TOKEN/USER_TOKEN from 00-auth.sh. Writes nothing.
AUD_JSON_CT='Content-Type: application/json'
AUD_XML_CT='Content-Type: application/xml'

check "GET /audit/events (admin)" json 200 "$GW/audit/events?limit=5" -H "$(bearer "$ADMIN_TOKEN")"
AUD_CURSOR="$(extract_json next_cursor "$LAST_BODY")"
check "GET /audit/events (admin)" xml 200 "$GW/audit/events?limit=5" -H "$(bearer "$ADMIN_TOKEN")"
if [ -n "$AUD_CURSOR" ] && [ "$AUD_CURSOR" != "null" ]; then
  check "GET /audit/events (next page)" json 200 "$GW/audit/events?limit=5&cursor=$AUD_CURSOR" -H "$(bearer "$ADMIN_TOKEN")"
  check "GET /audit/events (next page)" xml 200 "$GW/audit/events?limit=5&cursor=$AUD_CURSOR" -H "$(bearer "$ADMIN_TOKEN")"
fi
check "GET /audit/events (filters)" json 200 \
  "$GW/audit/events?service=auth&action=auth.login&from=2020-01-01T00:00:00Z&to=2999-01-01T00:00:00Z&limit=10" -H "$(bearer "$ADMIN_TOKEN")"
check "GET /audit/events (filters)" xml 200 "$GW/audit/events?service=gateway&limit=10" -H "$(bearer "$ADMIN_TOKEN")"
check "GET /audit/events (bad cursor)" json 400 "$GW/audit/events?cursor=bm9wZQ" -H "$(bearer "$ADMIN_TOKEN")"
check "GET /audit/events (bad filter)" xml 400 "$GW/audit/events?from=yesterday&limit=0" -H "$(bearer "$ADMIN_TOKEN")"
check "GET /audit/events (user)" json 403 "$GW/audit/events" -H "$(bearer "$USER_TOKEN")"
check "GET /audit/events (user)" xml 403 "$GW/audit/events" -H "$(bearer "$USER_TOKEN")"
check "GET /audit/events (no token)" json 401 "$GW/audit/events"

check "POST /audit/events (user token)" json 403 -X POST "$GW/audit/events" -H "$AUD_JSON_CT" -H "$(bearer "$USER_TOKEN")" \
  -d "{\"actor\":\"smoke-$RUN_ID\",\"action\":\"smoke.forged\"}"
check "POST /audit/events (user token)" xml 403 -X POST "$GW/audit/events" -H "$AUD_XML_CT" -H "$(bearer "$USER_TOKEN")" \
  -d "<NewAuditEvent><actor>smoke-$RUN_ID</actor><action>smoke.forged</action></NewAuditEvent>"
check "POST /audit/events (admin token)" json 403 -X POST "$GW/audit/events" -H "$AUD_JSON_CT" -H "$(bearer "$ADMIN_TOKEN")" \
  -d "{\"events\":[{\"actor\":\"smoke-$RUN_ID\",\"action\":\"smoke.forged\"}]}"

check "GET /audit/verify (admin)" json 200 "$GW/audit/verify" -H "$(bearer "$ADMIN_TOKEN")"
if [ "$(extract_json valid "$LAST_BODY")" != "true" ]; then
  echo "WARN audit hash chain does not verify: $(printf '%s' "$LAST_BODY" | head -c 300)" >&2
fi
check "GET /audit/verify (admin)" xml 200 "$GW/audit/verify" -H "$(bearer "$ADMIN_TOKEN")"
check "GET /audit/verify (user)" json 403 "$GW/audit/verify" -H "$(bearer "$USER_TOKEN")"
check "GET /audit/verify (user)" xml 403 "$GW/audit/verify" -H "$(bearer "$USER_TOKEN")"
