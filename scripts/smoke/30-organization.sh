# shellcheck shell=bash
# Organization service through the gateway: the caller's organization, its policies, and
# version-checked updates. Writes re-send the organization's current name so a smoke run never
# renames a real tenant; the stale-version and role checks prove the guards without side effects.
ORG_JSON_CT='Content-Type: application/json'
ORG_XML_CT='Content-Type: application/xml'

check "GET /organization" json 200 "$GW/organization" -H "$(bearer "$USER_TOKEN")"
ORG_NAME="$(extract_json name "$LAST_BODY")"
ORG_VERSION="$(extract_json version "$LAST_BODY")"
ORG_NAME_XML="$(printf '%s' "$ORG_NAME" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g')"
check "GET /organization" xml 200 "$GW/organization" -H "$(bearer "$ADMIN_TOKEN")"
check "GET /organization (no token)" xml 401 "$GW/organization"

check "GET /organization/policies" json 200 "$GW/organization/policies" -H "$(bearer "$USER_TOKEN")"
check "GET /organization/policies" xml 200 "$GW/organization/policies" -H "$(bearer "$ADMIN_TOKEN")"

check "PUT /organization (admin, If-Match)" json 200 -X PUT "$GW/organization" -H "$ORG_JSON_CT" \
  -H "$(bearer "$ADMIN_TOKEN")" -H "If-Match: \"$ORG_VERSION\"" -d "{\"name\":\"$ORG_NAME\"}"
ORG_VERSION="$(extract_json version "$LAST_BODY")"
check "PUT /organization (manager, body version)" xml 200 -X PUT "$GW/organization" -H "$ORG_XML_CT" \
  -H "$(bearer "$MANAGER_TOKEN")" -d "<Organization><name>$ORG_NAME_XML</name><version>$ORG_VERSION</version></Organization>"
check "PUT /organization (stale version)" json 409 -X PUT "$GW/organization" -H "$ORG_JSON_CT" \
  -H "$(bearer "$ADMIN_TOKEN")" -d "{\"name\":\"$ORG_NAME\",\"version\":$((ORG_VERSION + 1000))}"
check "PUT /organization (stale If-Match)" xml 409 -X PUT "$GW/organization" -H "$ORG_XML_CT" \
  -H "$(bearer "$ADMIN_TOKEN")" -H "If-Match: \"$((ORG_VERSION + 1000))\"" -d "<Organization><name>$ORG_NAME_XML</name></Organization>"
check "PUT /organization (user)" json 403 -X PUT "$GW/organization" -H "$ORG_JSON_CT" \
  -H "$(bearer "$USER_TOKEN")" -d '{"name":"Hijacked"}'
check "PUT /organization (user)" xml 403 -X PUT "$GW/organization" -H "$ORG_XML_CT" \
  -H "$(bearer "$USER_TOKEN")" -d '<Organization><name>Hijacked</name></Organization>'
check "PUT /organization (empty name)" json 422 -X PUT "$GW/organization" -H "$ORG_JSON_CT" \
  -H "$(bearer "$ADMIN_TOKEN")" -d '{"name":""}'
check "PUT /organization (unknown field)" xml 422 -X PUT "$GW/organization" -H "$ORG_XML_CT" \
  -H "$(bearer "$ADMIN_TOKEN")" -d "<Organization><name>$ORG_NAME_XML</name><id>00000000-0000-4000-8000-000000000002</id></Organization>"
