# shellcheck shell=bash
# Media through the gateway: upload a real 1x1 PNG (JSON and XML), list, get signed download
# links, fetch a link without a token and compare its bytes with the original, then deletes:
# a user is refused, an admin removes both items, and a repeated delete is still 204.
MEDIA_PNG_B64='iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGO4I2LzHwAFKAIsEAh12wAAAABJRU5ErkJggg=='
MEDIA_PNG="$TMP_DIR/media-original.png"
printf '%s' "$MEDIA_PNG_B64" | base64 -d >"$MEDIA_PNG"

# Records the outcome of a check that is not an HTTP status (same table row format as check()).
media_verdict() {
  local label="$1" ok="$2"
  if [ "$ok" = "yes" ]; then
    PASSED=$((PASSED + 1))
    ROWS+=("$(printf '%-52s | %-4s | %-15s | %ss | %s' "$label" "raw" "identical" "-" "PASS")")
  else
    FAILED=$((FAILED + 1))
    ROWS+=("$(printf '%-52s | %-4s | %-15s | %ss | %s' "$label" "raw" "different" "-" "FAIL")")
    printf 'FAIL %s\n' "$label" >&2
  fi
}

check "POST /media/upload" json 201 -X POST "$GW/media/upload" -H 'Content-Type: application/json' \
  -H "$(bearer "$USER_TOKEN")" \
  -d "{\"file_name\":\"smoke-$RUN_ID.png\",\"content_type\":\"image/png\",\"data_base64\":\"$MEDIA_PNG_B64\"}"
MEDIA_ID_JSON="$(extract_json id "$LAST_BODY")"

check "POST /media/upload" xml 201 -X POST "$GW/media/upload" -H 'Content-Type: application/xml' \
  -H "$(bearer "$USER_TOKEN")" \
  -d "<MediaUpload><file_name>../smoke-xml-$RUN_ID.png</file_name><content_type>image/png</content_type><data_base64>$MEDIA_PNG_B64</data_base64></MediaUpload>"
MEDIA_ID_XML="$(extract_xml id "$LAST_BODY")"

check "POST /media/upload (bytes are not a PDF)" json 415 -X POST "$GW/media/upload" -H 'Content-Type: application/json' \
  -H "$(bearer "$USER_TOKEN")" \
  -d "{\"file_name\":\"fake.pdf\",\"content_type\":\"application/pdf\",\"data_base64\":\"$MEDIA_PNG_B64\"}"
check "POST /media/upload (junk base64)" xml 422 -X POST "$GW/media/upload" -H 'Content-Type: application/xml' \
  -H "$(bearer "$USER_TOKEN")" \
  -d "<MediaUpload><file_name>junk.png</file_name><content_type>image/png</content_type><data_base64>iVBO*w0K</data_base64></MediaUpload>"
check "POST /media/upload (no token)" json 401 -X POST "$GW/media/upload" -H 'Content-Type: application/json' \
  -d "{\"file_name\":\"x.png\",\"content_type\":\"image/png\",\"data_base64\":\"$MEDIA_PNG_B64\"}"

check "GET /media/items" json 200 "$GW/media/items?limit=5" -H "$(bearer "$USER_TOKEN")"
check "GET /media/items" xml 200 "$GW/media/items?limit=5" -H "$(bearer "$ADMIN_TOKEN")"

check "GET /media/items/{id}/download" json 200 "$GW/media/items/$MEDIA_ID_JSON/download" -H "$(bearer "$USER_TOKEN")"
MEDIA_URL_JSON="$(extract_json url "$LAST_BODY")"
check "GET /media/items/{id}/download" xml 200 "$GW/media/items/$MEDIA_ID_XML/download" -H "$(bearer "$USER_TOKEN")"
MEDIA_URL_XML="$(extract_xml url "$LAST_BODY" | sed 's/&amp;/\&/g')"
check "GET /media/items/{id}/download (unknown id)" json 404 \
  "$GW/media/items/00000000-0000-4000-8000-00000000dead/download" -H "$(bearer "$USER_TOKEN")"

# The links are the credential: fetched with no Authorization header.
MEDIA_FETCHED="$TMP_DIR/media-fetched.png"
for MEDIA_LINK in "$MEDIA_URL_JSON" "$MEDIA_URL_XML"; do
  check "GET signed download link" raw 200 "$MEDIA_LINK"
  cp "$TMP_DIR/body" "$MEDIA_FETCHED" 2>/dev/null || : >"$MEDIA_FETCHED"
  if cmp -s "$MEDIA_FETCHED" "$MEDIA_PNG"; then media_verdict "downloaded bytes == uploaded PNG" yes; else media_verdict "downloaded bytes == uploaded PNG" no; fi
done
# Only the local (embedded) store signs links with "signature=" and answers our own 403 envelope.
case "$MEDIA_URL_JSON" in
  *'&signature='*)
    MEDIA_TAMPERED="$(printf '%s' "$MEDIA_URL_JSON" | sed 's/signature=A/signature=B/; t; s/signature=./signature=A/')"
    check "GET signed download link (tampered)" json 403 "$MEDIA_TAMPERED"
    ;;
esac

check "DELETE /media/items/{id} (user)" json 403 -X DELETE "$GW/media/items/$MEDIA_ID_JSON" -H "$(bearer "$USER_TOKEN")"
check "DELETE /media/items/{id} (user)" xml 403 -X DELETE "$GW/media/items/$MEDIA_ID_XML" -H "$(bearer "$USER_TOKEN")"
check "DELETE /media/items/{id} (admin)" json 204 -X DELETE "$GW/media/items/$MEDIA_ID_JSON" -H "$(bearer "$ADMIN_TOKEN")"
check "DELETE /media/items/{id} (admin)" xml 204 -X DELETE "$GW/media/items/$MEDIA_ID_XML" -H "$(bearer "$ADMIN_TOKEN")"
check "DELETE /media/items/{id} (again, idempotent)" json 204 -X DELETE "$GW/media/items/$MEDIA_ID_JSON" -H "$(bearer "$ADMIN_TOKEN")"
check "GET /media/items/{id}/download (deleted)" xml 404 "$GW/media/items/$MEDIA_ID_XML/download" -H "$(bearer "$USER_TOKEN")"
