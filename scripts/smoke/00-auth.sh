# shellcheck shell=bash
# Auth flow through the gateway; exports ADMIN_TOKEN, USER_TOKEN, USER_ID, ADMIN_ID for later fragments.
JSON='Content-Type: application/json'
XMLCT='Content-Type: application/xml'

check "POST /auth/login (admin)" json 200 -X POST "$GW/auth/login" -H "$JSON" \
  -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}"
ADMIN_TOKEN="$(extract_json access_token "$LAST_BODY")"

check "POST /auth/login (admin)" xml 200 -X POST "$GW/auth/login" -H "$XMLCT" \
  -d "<LoginRequest><email>$ADMIN_EMAIL</email><password>$ADMIN_PASSWORD</password></LoginRequest>"

check "POST /auth/login (bad password)" json 401 -X POST "$GW/auth/login" -H "$JSON" \
  -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"definitely-wrong\"}"

USER_EMAIL="smoke-$RUN_ID@example.com"
USER_PASSWORD="Smoke-pass-$RUN_ID"
check "POST /auth/register" json 201 -X POST "$GW/auth/register" -H "$JSON" \
  -d "{\"email\":\"$USER_EMAIL\",\"password\":\"$USER_PASSWORD\",\"full_name\":\"Smoke <Tester> & co\"}"
USER_ID="$(extract_json user_id "$LAST_BODY")"

check "POST /auth/register" xml 201 -X POST "$GW/auth/register" -H "$XMLCT" \
  -d "<RegisterRequest><email>smoke-xml-$RUN_ID@example.com</email><password>$USER_PASSWORD</password></RegisterRequest>"

check "POST /auth/register (self-granted admin)" json 403 -X POST "$GW/auth/register" -H "$JSON" \
  -d "{\"email\":\"evil-$RUN_ID@example.com\",\"password\":\"$USER_PASSWORD\",\"role\":\"admin\"}"

check "POST /auth/register (admin creates manager)" xml 201 -X POST "$GW/auth/register" -H "$XMLCT" -H "$(bearer "$ADMIN_TOKEN")" \
  -d "<RegisterRequest><email>manager-$RUN_ID@example.com</email><password>$USER_PASSWORD</password><role>manager</role></RegisterRequest>"
MANAGER_EMAIL="manager-$RUN_ID@example.com"

check "POST /auth/login (user)" json 200 -X POST "$GW/auth/login" -H "$JSON" \
  -d "{\"email\":\"$USER_EMAIL\",\"password\":\"$USER_PASSWORD\"}"
USER_TOKEN="$(extract_json access_token "$LAST_BODY")"
USER_REFRESH="$(extract_json refresh_token "$LAST_BODY")"

check "POST /auth/login (manager)" xml 200 -X POST "$GW/auth/login" -H "$XMLCT" \
  -d "<LoginRequest><email>$MANAGER_EMAIL</email><password>$USER_PASSWORD</password></LoginRequest>"
MANAGER_TOKEN="$(extract_xml access_token "$LAST_BODY")"
export MANAGER_TOKEN

check "GET /auth/profile" json 200 "$GW/auth/profile" -H "$(bearer "$ADMIN_TOKEN")"
ADMIN_ID="$(extract_json id "$LAST_BODY")"
check "GET /auth/profile" xml 200 "$GW/auth/profile" -H "$(bearer "$USER_TOKEN")"
check "GET /auth/profile (no token)" json 401 "$GW/auth/profile"
check "GET /auth/roles" json 200 "$GW/auth/roles" -H "$(bearer "$USER_TOKEN")"
check "GET /auth/roles" xml 200 "$GW/auth/roles" -H "$(bearer "$USER_TOKEN")"
check "GET /auth/.well-known/jwks.json" json 200 "$GW/auth/.well-known/jwks.json"
check "GET /auth/.well-known/jwks.json" xml 200 "$GW/auth/.well-known/jwks.json"

check "POST /auth/token/introspect" json 200 -X POST "$GW/auth/token/introspect" -H "$JSON" -H "$(bearer "$USER_TOKEN")" \
  -d "{\"token\":\"$USER_TOKEN\"}"
check "POST /auth/token/introspect" xml 200 -X POST "$GW/auth/token/introspect" -H "$XMLCT" -H "$(bearer "$USER_TOKEN")" \
  -d "<IntrospectRequest><token>$ADMIN_TOKEN</token></IntrospectRequest>"

check "POST /auth/refresh" json 200 -X POST "$GW/auth/refresh" -H "$JSON" -d "{\"refresh_token\":\"$USER_REFRESH\"}"
NEW_REFRESH="$(extract_json refresh_token "$LAST_BODY")"
USER_TOKEN="$(extract_json access_token "$LAST_BODY")"
check "POST /auth/refresh (reused token)" json 401 -X POST "$GW/auth/refresh" -H "$JSON" -d "{\"refresh_token\":\"$USER_REFRESH\"}"
check "POST /auth/refresh (family revoked)" xml 401 -X POST "$GW/auth/refresh" -H "$XMLCT" \
  -d "<RefreshRequest><refresh_token>$NEW_REFRESH</refresh_token></RefreshRequest>"

# The reuse above revoked the user's session family; log in again for the later fragments.
check "POST /auth/login (user again)" xml 200 -X POST "$GW/auth/login" -H "$XMLCT" \
  -d "<LoginRequest><email>$USER_EMAIL</email><password>$USER_PASSWORD</password></LoginRequest>"
USER_TOKEN="$(extract_xml access_token "$LAST_BODY")"
XML_REFRESH="$(extract_xml refresh_token "$LAST_BODY")"
check "POST /auth/refresh" xml 200 -X POST "$GW/auth/refresh" -H "$XMLCT" \
  -d "<RefreshRequest><refresh_token>$XML_REFRESH</refresh_token></RefreshRequest>"
USER_TOKEN="$(extract_xml access_token "$LAST_BODY")"

# Logout on throw-away sessions so USER_TOKEN stays valid.
check "POST /auth/login (throw-away session)" json 200 -X POST "$GW/auth/login" -H "$JSON" \
  -d "{\"email\":\"$USER_EMAIL\",\"password\":\"$USER_PASSWORD\"}"
BYE_TOKEN="$(extract_json access_token "$LAST_BODY")"
check "POST /auth/logout" json 200 -X POST "$GW/auth/logout" -H "$(bearer "$BYE_TOKEN")"
check "GET /auth/profile (revoked token)" json 401 "$GW/auth/profile" -H "$(bearer "$BYE_TOKEN")"
check "POST /auth/login (throw-away session)" json 200 -X POST "$GW/auth/login" -H "$JSON" \
  -d "{\"email\":\"$USER_EMAIL\",\"password\":\"$USER_PASSWORD\"}"
BYE_TOKEN="$(extract_json access_token "$LAST_BODY")"
check "POST /auth/logout" xml 200 -X POST "$GW/auth/logout" -H "$(bearer "$BYE_TOKEN")"

check "POST /auth/login (text/plain body)" json 415 -X POST "$GW/auth/login" -H 'Content-Type: text/plain' -d 'hello'
check "POST /auth/login (XXE)" xml 400 -X POST "$GW/auth/login" -H "$XMLCT" \
  -d '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><LoginRequest><email>&x;</email><password>x</password></LoginRequest>'
check "POST /auth/login (malformed JSON)" json 400 -X POST "$GW/auth/login" -H "$JSON" -d '{"email":'
check "POST /auth/register (invalid email)" xml 422 -X POST "$GW/auth/register" -H "$JSON" -d '{"email":"nope","password":"short"}'

export ADMIN_TOKEN USER_TOKEN USER_ID ADMIN_ID
