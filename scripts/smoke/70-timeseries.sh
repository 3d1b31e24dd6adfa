# shellcheck shell=bash
# Timeseries through the gateway: writes in JSON, XML and line protocol into the org's default
# bucket (created by the first write), queries raw and aggregated in both formats, bucket
# create/list/delete (admin) in both formats, and 404s for another organization's bucket.
TS_JSON='Content-Type: application/json'
TS_XML='Content-Type: application/xml'
TS_LP='Content-Type: text/plain'
TS_NOW="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
TS_NOW_NS="$(date +%s)000000000"
TS_OTHER="org_00000000-0000-4000-8000-00000000dead"

check "POST /timeseries/write" json 200 -X POST "$GW/timeseries/write" -H "$TS_JSON" -H "$(bearer "$USER_TOKEN")" \
  -d "{\"points\":[{\"measurement\":\"heart_rate\",\"tags\":{\"user_id\":\"smoke-$RUN_ID\"},\"fields\":{\"bpm\":72,\"rest\":true},\"timestamp\":\"$TS_NOW\"}]}"
TS_BUCKET="$(extract_json bucket "$LAST_BODY")"

check "POST /timeseries/write" xml 200 -X POST "$GW/timeseries/write" -H "$TS_XML" -H "$(bearer "$USER_TOKEN")" \
  -d "<WriteRequest><bucket/><points><point><measurement>heart_rate</measurement><tags><user_id>smoke-$RUN_ID</user_id></tags><fields><bpm>75</bpm></fields><timestamp/></point></points></WriteRequest>"

check "POST /timeseries/write (line protocol)" json 200 -X POST "$GW/timeseries/write?bucket=$TS_BUCKET" -H "$TS_LP" -H "$(bearer "$USER_TOKEN")" \
  --data-binary "heart_rate,user_id=smoke-$RUN_ID bpm=78,note=\"after stairs\" $TS_NOW_NS"
check "POST /timeseries/write (line protocol)" xml 200 -X POST "$GW/timeseries/write?bucket=$TS_BUCKET&precision=s" -H "$TS_LP" -H "$(bearer "$USER_TOKEN")" \
  --data-binary "heart_rate,user_id=smoke-$RUN_ID spo2=97 $(date +%s)"

check "POST /timeseries/write (bad point)" json 422 -X POST "$GW/timeseries/write" -H "$TS_JSON" -H "$(bearer "$USER_TOKEN")" \
  -d '{"points":[{"measurement":"heart rate","fields":{"bpm":72}}]}'
check "POST /timeseries/write (bad line protocol)" xml 400 -X POST "$GW/timeseries/write" -H "$TS_LP" -H "$(bearer "$USER_TOKEN")" \
  --data-binary 'heart_rate bpm='

check "POST /timeseries/query" json 200 -X POST "$GW/timeseries/query" -H "$TS_JSON" -H "$(bearer "$USER_TOKEN")" \
  -d "{\"measurement\":\"heart_rate\",\"range_start\":\"-1h\",\"range_stop\":\"now\",\"tags\":{\"user_id\":\"smoke-$RUN_ID\"}}"
check "POST /timeseries/query" xml 200 -X POST "$GW/timeseries/query" -H "$TS_XML" -H "$(bearer "$USER_TOKEN")" \
  -d "<QueryRequest><measurement>heart_rate</measurement><field>bpm</field><range_start>-1h</range_start><range_stop>now</range_stop></QueryRequest>"
check "POST /timeseries/query (mean per 5m)" json 200 -X POST "$GW/timeseries/query" -H "$TS_JSON" -H "$(bearer "$USER_TOKEN")" \
  -d '{"measurement":"heart_rate","field":"bpm","aggregate":"mean","window":"5m","range_start":"-1h","range_stop":"now"}'
check "POST /timeseries/query (max per 1h)" xml 200 -X POST "$GW/timeseries/query" -H "$TS_XML" -H "$(bearer "$USER_TOKEN")" \
  -d "<QueryRequest><measurement>heart_rate</measurement><field>bpm</field><aggregate>max</aggregate><window>1h</window><range_start>-1h</range_start><range_stop>now</range_stop><tags><user_id>smoke-$RUN_ID</user_id></tags></QueryRequest>"
check "POST /timeseries/query (aggregate without window)" json 422 -X POST "$GW/timeseries/query" -H "$TS_JSON" -H "$(bearer "$USER_TOKEN")" \
  -d '{"measurement":"heart_rate","field":"bpm","aggregate":"mean","range_start":"-1h","range_stop":"now"}'

check "POST /timeseries/buckets" json 201 -X POST "$GW/timeseries/buckets" -H "$TS_JSON" -H "$(bearer "$ADMIN_TOKEN")" \
  -d "{\"name\":\"smoke-$RUN_ID\",\"retention\":\"7d\"}"
TS_NAMED="$(extract_json name "$LAST_BODY")"
check "POST /timeseries/buckets" xml 201 -X POST "$GW/timeseries/buckets" -H "$TS_XML" -H "$(bearer "$ADMIN_TOKEN")" \
  -d "<CreateBucketRequest><name>smoke-xml-$RUN_ID</name><retention>0</retention></CreateBucketRequest>"
TS_NAMED_XML="$(extract_xml name "$LAST_BODY")"
check "POST /timeseries/buckets (duplicate)" json 409 -X POST "$GW/timeseries/buckets" -H "$TS_JSON" -H "$(bearer "$ADMIN_TOKEN")" \
  -d "{\"name\":\"smoke-$RUN_ID\"}"
check "POST /timeseries/buckets (user)" xml 403 -X POST "$GW/timeseries/buckets" -H "$TS_XML" -H "$(bearer "$USER_TOKEN")" \
  -d "<CreateBucketRequest><name>nope-$RUN_ID</name></CreateBucketRequest>"

check "POST /timeseries/write (named bucket)" json 200 -X POST "$GW/timeseries/write" -H "$TS_JSON" -H "$(bearer "$USER_TOKEN")" \
  -d "{\"bucket\":\"$TS_NAMED\",\"points\":[{\"measurement\":\"steps\",\"fields\":{\"count\":12}}]}"

check "GET /timeseries/buckets" json 200 "$GW/timeseries/buckets" -H "$(bearer "$USER_TOKEN")"
check "GET /timeseries/buckets" xml 200 "$GW/timeseries/buckets" -H "$(bearer "$ADMIN_TOKEN")"

check "POST /timeseries/write (other org's bucket)" json 404 -X POST "$GW/timeseries/write" -H "$TS_JSON" -H "$(bearer "$ADMIN_TOKEN")" \
  -d "{\"bucket\":\"$TS_OTHER\",\"points\":[{\"measurement\":\"heart_rate\",\"fields\":{\"bpm\":1}}]}"
check "POST /timeseries/query (other org's bucket)" xml 404 -X POST "$GW/timeseries/query" -H "$TS_XML" -H "$(bearer "$ADMIN_TOKEN")" \
  -d "<QueryRequest><bucket>$TS_OTHER</bucket><measurement>heart_rate</measurement><range_start>-1h</range_start><range_stop>now</range_stop></QueryRequest>"
check "DELETE /timeseries/buckets/{other org's}" json 404 -X DELETE "$GW/timeseries/buckets/$TS_OTHER" -H "$(bearer "$ADMIN_TOKEN")"

check "DELETE /timeseries/buckets/{bucket} (user)" json 403 -X DELETE "$GW/timeseries/buckets/$TS_NAMED" -H "$(bearer "$USER_TOKEN")"
check "DELETE /timeseries/buckets/{bucket}" json 204 -X DELETE "$GW/timeseries/buckets/$TS_NAMED" -H "$(bearer "$ADMIN_TOKEN")"
check "DELETE /timeseries/buckets/{bucket}" xml 204 -X DELETE "$GW/timeseries/buckets/$TS_NAMED_XML" -H "$(bearer "$ADMIN_TOKEN")"
check "DELETE /timeseries/buckets/{bucket} (again)" xml 404 -X DELETE "$GW/timeseries/buckets/$TS_NAMED" -H "$(bearer "$ADMIN_TOKEN")"
