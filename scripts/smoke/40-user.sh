# shellcheck shell=bash
# User service through the gateway: own profile and preferences, and the admin-only lookup by id.
# Needs USER_TOKEN/ADMIN_TOKEN and USER_ID/ADMIN_ID from 00-auth.sh. Only the throw-away
# smoke user's preferences are written.
USR_JSON_CT='Content-Type: application/json'
USR_XML_CT='Content-Type: application/xml'

check "GET /users/me" json 200 "$GW/users/me" -H "$(bearer "$USER_TOKEN")"
check "GET /users/me" xml 200 "$GW/users/me" -H "$(bearer "$ADMIN_TOKEN")"
check "GET /users/me (no token)" json 401 "$GW/users/me"

check "PUT /users/me" json 200 -X PUT "$GW/users/me" -H "$USR_JSON_CT" -H "$(bearer "$USER_TOKEN")" \
  -d "{\"preferences\":{\"lang\":\"es\",\"units\":\"metric\",\"notifications\":{\"email\":true,\"push\":false},\"smoke_run\":\"$RUN_ID\"}}"
PREFS_VERSION="$(extract_json version "$LAST_BODY")"
check "PUT /users/me (If-Match)" xml 200 -X PUT "$GW/users/me" -H "$USR_XML_CT" -H "$(bearer "$USER_TOKEN")" \
  -H "If-Match: \"$PREFS_VERSION\"" \
  -d '<User><preferences><lang>es</lang><notifications><email>true</email></notifications></preferences></User>'
check "PUT /users/me (stale If-Match)" json 409 -X PUT "$GW/users/me" -H "$USR_JSON_CT" -H "$(bearer "$USER_TOKEN")" \
  -H "If-Match: \"$PREFS_VERSION\"" -d '{"preferences":{"lang":"en"}}'
check "PUT /users/me (role in body)" json 422 -X PUT "$GW/users/me" -H "$USR_JSON_CT" -H "$(bearer "$USER_TOKEN")" \
  -d '{"preferences":{"lang":"es"},"role":"admin"}'
check "PUT /users/me (too deep)" xml 422 -X PUT "$GW/users/me" -H "$USR_XML_CT" -H "$(bearer "$USER_TOKEN")" \
  -d '<User><preferences><a><b><c><d>1</d></c></b></a></preferences></User>'
check "GET /users/me (after PUT)" xml 200 "$GW/users/me" -H "$(bearer "$USER_TOKEN")"

check "GET /users/{id} (admin)" json 200 "$GW/users/$USER_ID" -H "$(bearer "$ADMIN_TOKEN")"
check "GET /users/{id} (admin)" xml 200 "$GW/users/$USER_ID" -H "$(bearer "$ADMIN_TOKEN")"
check "GET /users/{id} (user)" json 403 "$GW/users/$ADMIN_ID" -H "$(bearer "$USER_TOKEN")"
check "GET /users/{id} (user)" xml 403 "$GW/users/$ADMIN_ID" -H "$(bearer "$USER_TOKEN")"
check "GET /users/{id} (unknown id)" json 404 "$GW/users/00000000-0000-4000-8000-0000000000ff" -H "$(bearer "$ADMIN_TOKEN")"
check "GET /users/{id} (not a uuid)" xml 404 "$GW/users/not-a-uuid" -H "$(bearer "$ADMIN_TOKEN")"
