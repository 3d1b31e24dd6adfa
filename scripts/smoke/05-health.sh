# shellcheck shell=bash
# Liveness, readiness and metrics of every service through the gateway.
for svc in auth organization users media timeseries audit; do
  check "GET /$svc/health" json 200 "$GW/$svc/health"
  check "GET /$svc/health" xml 200 "$GW/$svc/health"
  check "GET /$svc/ready" json 200 "$GW/$svc/ready"
  check "GET /$svc/ready" xml 200 "$GW/$svc/ready"
  check "GET /$svc/metrics" raw 200 "$GW/$svc/metrics"
done
