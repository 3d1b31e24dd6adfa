#!/usr/bin/env bash
# Static checks of the deployment files with real parsers; no Docker engine needed.
#
#   scripts/ci/check-deploy.sh
#
# Needs (Debian): shellcheck, docker-compose (v1, python: parses and validates the Compose file
# offline), prometheus (promtool); npm registry access for dockerfile-utils unless it is installed
# in the workspace. Exits non-zero if any check fails; every check runs and is reported.
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly ROOT_DIR
cd "$ROOT_DIR"

readonly DOCKERFILE_UTILS_VERSION=0.16.3
readonly SERVICES=(gateway auth organization user media timeseries audit)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/check-deploy.XXXXXX")"
readonly WORK
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
failures=()

# check "<label>" <function>: runs the function with its output indented; records PASS/FAIL.
check() {
  local label="$1" rc=0
  shift
  printf '\n== %s\n' "$label"
  "$@" >"$WORK/out" 2>&1 || rc=$?
  sed 's/^/   /' "$WORK/out"
  if ((rc == 0)); then
    printf 'PASS  %s\n' "$label"
    passed=$((passed + 1))
  else
    printf 'FAIL  %s (exit %d)\n' "$label" "$rc"
    failed=$((failed + 1))
    failures+=("$label")
  fi
}

# Runs docker-compose with nothing but the given env file, so the machine's environment
# (CI sets DATABASE_URL, REDIS_URL, ...) cannot mask a variable missing from it.
compose_clean() {
  local env_file="$1"
  shift
  env -i PATH="$PATH" HOME="${HOME:-/root}" docker-compose --project-directory "$ROOT_DIR" --env-file "$env_file" "$@"
}

# ---------------------------------------------------------------------------------------------
check_shellcheck() {
  command -v shellcheck >/dev/null || { echo "shellcheck is not installed (apt-get install shellcheck)"; return 1; }
  shellcheck --version | sed -n 's/^version: /shellcheck /p'
  local scripts=() fragments=() f
  for f in scripts/*.sh scripts/ci/*.sh; do [[ -f "$f" ]] && scripts+=("$f"); done
  for f in scripts/smoke/*.sh; do [[ -f "$f" ]] && fragments+=("$f"); done
  shellcheck -x "${scripts[@]}"
  printf '%s\n' "${scripts[@]}"
  if ((${#fragments[@]} > 0)); then
    # Fragments are sourced by validate_endpoints.sh, which defines $GW, $ADMIN_TOKEN, ...
    shellcheck -s bash -e SC2154 "${fragments[@]}"
    printf '%s (sourced fragment)\n' "${fragments[@]}"
  fi
}

check_dockerfile_lint() {
  local bin="node_modules/.bin/dockerfile-utils" out rc=0
  if [[ -x "$bin" ]]; then
    out="$("$bin" lint Dockerfile 2>&1)" || rc=$?
  else
    out="$(cd "$WORK" && npx --yes "dockerfile-utils@$DOCKERFILE_UTILS_VERSION" lint "$ROOT_DIR/Dockerfile" 2>&1)" || rc=$?
  fi
  grep -v '^npm warn' <<<"$out" || true
  ((rc == 0)) && echo "dockerfile-utils $DOCKERFILE_UTILS_VERSION lint: no problems"
  return "$rc"
}

# What the image must guarantee, read from the Dockerfile's final stage.
check_dockerfile_shape() {
  local final problems=0 pnpm_pinned pnpm_locked path
  final="$(awk '/^FROM /{ buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' Dockerfile)"
  grep -qE '^USER +(node|[1-9][0-9]*)' <<<"$final" || { echo "final stage must switch to a non-root USER"; problems=1; }
  grep -qE '^ENTRYPOINT +\["node", *"--import", *"tsx", *"scripts/docker-entry.mjs"\]' <<<"$final" ||
    { echo "ENTRYPOINT must be exec form: [\"node\", \"--import\", \"tsx\", \"scripts/docker-entry.mjs\"]"; problems=1; }
  if grep -qE '^(ENTRYPOINT|CMD) +[^[ ]' <<<"$final"; then echo "ENTRYPOINT/CMD in shell form would put a shell in front of node"; problems=1; fi
  grep -qE '^ *CMD \["node", *"scripts/docker-healthcheck.mjs"\]' <<<"$final" || { echo "HEALTHCHECK must run scripts/docker-healthcheck.mjs in exec form"; problems=1; }
  pnpm_pinned="$(sed -n 's/^ARG PNPM_VERSION=//p' Dockerfile)"
  pnpm_locked="$(node -p "require('./package.json').packageManager.replace(/^pnpm@/, '').split('+')[0]")"
  [[ "$pnpm_pinned" == "$pnpm_locked" ]] || { echo "Dockerfile PNPM_VERSION=$pnpm_pinned but package.json packageManager is pnpm@$pnpm_locked"; problems=1; }
  # Sources of COPY lines from the build context (not --from=stage): words but the last.
  while read -r path; do
    [[ -e "$path" ]] || { echo "COPY source $path does not exist"; problems=1; }
  done < <(sed -n 's/^COPY \([^-].*\) [^ ]*$/\1/p' Dockerfile | tr ' ' '\n')
  node --check scripts/docker-entry.mjs && node --check scripts/docker-healthcheck.mjs || problems=1
  ((problems == 0)) && echo "non-root USER, exec-form ENTRYPOINT and HEALTHCHECK, pnpm $pnpm_pinned = packageManager, COPY sources exist"
  return "$problems"
}

check_compose_valid() {
  command -v docker-compose >/dev/null || { echo "docker-compose is not installed (apt-get install docker-compose)"; return 1; }
  docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /'
  compose_clean .env.example config -q
  echo "docker-compose config -q with .env.example: valid"
  if docker compose version >/dev/null 2>&1; then
    env -i PATH="$PATH" HOME="${HOME:-/root}" docker compose --env-file .env.example config -q
    echo "docker compose (v2) config -q with .env.example: valid"
  fi
}

# The parser must be live: a file with an unknown key and an .env without a required secret
# must both be rejected, or the check above proves nothing.
check_compose_rejects() {
  local problems=0 out
  sed 's/^  gateway:$/  gateway:\n    not_a_compose_key: true/' docker-compose.yml >"$WORK/bad-key.yml"
  if out="$(compose_clean .env.example -f "$WORK/bad-key.yml" config -q 2>&1)"; then
    echo "an unknown service key was accepted"; problems=1
  else
    echo "unknown key rejected: $(tr '\n' ' ' <<<"$out" | cut -c1-160)"
  fi
  grep -v '^JWT_SECRET=' .env.example >"$WORK/no-secret.env"
  if out="$(compose_clean "$WORK/no-secret.env" config -q 2>&1)"; then
    echo "a missing JWT_SECRET was accepted"; problems=1
  elif grep -qE 'in service "[a-z]+": JWT_SECRET must be set' <<<"$out"; then
    echo "missing secret rejected: $(grep -oE 'in service "[a-z]+": JWT_SECRET must be set.*$' <<<"$out" | head -1)"
  else
    echo "missing JWT_SECRET rejected without naming it: $out"; problems=1
  fi
  return "$problems"
}

# Properties of the rendered file (after interpolation and anchors), read with PyYAML, which
# Debian's docker-compose depends on.
check_compose_shape() {
  compose_clean .env.example config >"$WORK/rendered.yml"
  /usr/bin/python3 - "$WORK/rendered.yml" "${SERVICES[@]}" <<'PY'
import sys, yaml

# docker-compose v1 renders short syntax ("name:/path:rw", "0.0.0.0:5000:5000/tcp"), v2 long syntax.
def volume(v):
    if isinstance(v, dict):
        return v.get("type"), v.get("source")
    source = str(v).split(":")[0]
    return ("bind" if source.startswith(("/", ".", "~")) else "volume"), source

def port_target(p):
    if isinstance(p, dict):
        return str(p.get("target"))
    return str(p).split("/")[0].split(":")[-1]

config = yaml.safe_load(open(sys.argv[1]))
app = sys.argv[2:]
services = config["services"]
declared_volumes = set(config.get("volumes") or {})
problems = []
expected = set(app) | {"postgres", "redis", "influxdb", "prometheus"}
if set(services) != expected:
    problems.append(f"services are {sorted(services)}, expected {sorted(expected)}")
for name, svc in services.items():
    if "container_name" in svc:
        problems.append(f"{name}: container_name prevents scaling and clashes between projects")
    if svc.get("restart") != "unless-stopped":
        problems.append(f"{name}: restart is {svc.get('restart')!r}, expected unless-stopped")
    if "healthcheck" not in svc:
        problems.append(f"{name}: no healthcheck")
    if name != "gateway" and svc.get("ports"):
        problems.append(f"{name}: publishes {svc['ports']} (only the gateway may)")
    for dep, cond in (svc.get("depends_on") or {}).items():
        if (cond or {}).get("condition") != "service_healthy":
            problems.append(f"{name}: depends_on {dep} without condition service_healthy")
    for v in svc.get("volumes") or []:
        kind, source = volume(v)
        if kind == "volume" and source not in declared_volumes:
            problems.append(f"{name}: volume {source} is not declared")
gateway = services.get("gateway", {})
targets = [port_target(p) for p in gateway.get("ports") or []]
if targets != ["5000"]:
    problems.append(f"gateway must publish exactly container port 5000, publishes {targets}")
for name in app:
    svc = services.get(name, {})
    env = svc.get("environment") or {}
    if env.get("SERVICE") != name:
        problems.append(f"{name}: SERVICE={env.get('SERVICE')!r}")
    if env.get("HOST") != "0.0.0.0":
        problems.append(f"{name}: HOST must be 0.0.0.0 inside the container")
    if not svc.get("init"):
        problems.append(f"{name}: init: true missing (signals and zombies)")
    if svc.get("image") != gateway.get("image"):
        problems.append(f"{name}: runs image {svc.get('image')}, not the shared one")
    if svc.get("healthcheck", {}).get("test") != ["CMD", "node", "scripts/docker-healthcheck.mjs"]:
        problems.append(f"{name}: healthcheck is not the image's /health probe")
if not (config.get("networks") or {}).get("backend", {}).get("internal"):
    problems.append("network backend must be internal")
for store in ("postgres", "redis", "influxdb", "prometheus"):
    if not any(volume(v)[0] == "volume" for v in services.get(store, {}).get("volumes") or []):
        problems.append(f"{store}: data is not on a named volume")
if "pg_isready" not in " ".join(services["postgres"]["healthcheck"]["test"]):
    problems.append("postgres healthcheck must use pg_isready")
if (services["influxdb"].get("environment") or {}).get("DOCKER_INFLUXDB_INIT_MODE") != "setup":
    problems.append("influxdb: DOCKER_INFLUXDB_INIT_MODE must be setup")
if not any(volume(v) == ("volume", "media-data") for v in services["media"].get("volumes") or []):
    problems.append("media: local object store is not on the media-data volume")
for problem in problems:
    print(problem)
if problems:
    sys.exit(1)
print(f"{len(services)} services; only the gateway publishes (container port 5000); every depends_on waits for "
      "service_healthy; restart unless-stopped; data on declared named volumes; backend network internal; "
      "the seven app services run one image with init, HOST=0.0.0.0 and the /health probe")
PY
}

# Every ${VAR} the Compose file reads is documented (and given a value) in .env.example, and every
# active assignment in .env.example reaches Compose; commented-out ones document non-compose use.
check_env_matches_compose() {
  local in_compose in_example problems=0 name
  in_compose="$(grep -v '^ *#' docker-compose.yml | grep -oE '\$\{[A-Z][A-Z0-9_]*' | sed 's/^\${//' | sort -u)"
  in_example="$(grep -oE '^[A-Z][A-Z0-9_]*=' .env.example | tr -d '=' | sort -u)"
  for name in $(comm -23 <(echo "$in_compose") <(echo "$in_example")); do
    echo "docker-compose.yml reads \${$name} but .env.example has no $name= line"; problems=1
  done
  for name in $(comm -13 <(echo "$in_compose") <(echo "$in_example")); do
    # Compose itself reads these from .env.
    [[ "$name" == COMPOSE_PROJECT_NAME ]] && continue
    echo ".env.example sets $name but docker-compose.yml never passes it (comment it out if it is not for compose)"; problems=1
  done
  local dupes
  dupes="$(grep -oE '^[A-Z][A-Z0-9_]*=' .env.example | sort | uniq -d)"
  [[ -z "$dupes" ]] || { echo "assigned twice in .env.example: $dupes"; problems=1; }
  ((problems == 0)) && echo "$(wc -l <<<"$in_compose") variables read by docker-compose.yml, all set in .env.example; no stray assignments"
  return "$problems"
}

# Every variable the code reads is documented in .env.example (as NAME= or # NAME=).
check_env_documents_code() {
  local read_by_code documented missing name
  read_by_code="$(
    {
      grep -rhoE "read[A-Za-z]*\(env, '[A-Z][A-Z0-9_]*'" services/*/src packages/*/src --include='*.ts' --exclude='*.test.ts' --exclude-dir=testing |
        sed -E "s/.*'([A-Z0-9_]+)'/\1/"
      # Names kept in tables (e.g. the gateway's upstream URL variables).
      grep -hoE "'[A-Z][A-Z0-9]*(_[A-Z0-9]+)+'" services/*/src/config.ts packages/kit/src/common-config.ts | tr -d "'" |
        grep -vE '^[A-Z]+_[0-9]{3}$'
    } | sort -u
  )"
  documented="$(grep -oE '^(# )?[A-Z][A-Z0-9_]*=' .env.example | sed -E 's/^# //; s/=$//' | sort -u)"
  missing="$(comm -23 <(echo "$read_by_code") <(echo "$documented"))"
  if [[ -n "$missing" ]]; then
    echo "read by the code but not documented in .env.example:"
    while read -r name; do printf '  %s\n' "$name"; done <<<"$missing"
    return 1
  fi
  echo "$(wc -l <<<"$read_by_code") variables read by services/*/src and packages/*/src, all documented"
}

check_env_placeholders() {
  local problems=0 line name value
  while IFS= read -r line; do
    name="${line%%=*}"
    value="${line#*=}"
    if [[ -n "$value" && "$value" != change-me* ]]; then
      echo "$name looks secret but its example value is not a change-me… placeholder"; problems=1
    fi
  done < <(grep -E '^[A-Z0-9_]*(SECRET|PASSWORD|TOKEN)=' .env.example || true)
  ((problems == 0)) && echo "every SECRET/PASSWORD/TOKEN example value is a change-me… placeholder"
  return "$problems"
}

check_prometheus() {
  command -v promtool >/dev/null || { echo "promtool is not installed (apt-get install prometheus)"; return 1; }
  promtool --version 2>&1 | head -1
  promtool check config prometheus/prometheus.yml
  promtool check rules prometheus/rules/*.yml
  promtool test rules prometheus/rules-tests/*.test.yml
  local sed_args=(-e 's/@HOST@/127.0.0.1/g') i
  for i in "${!SERVICES[@]}"; do sed_args+=(-e "s/@PORT_${SERVICES[$i]^^}@/$((5000 + i))/g"); done
  sed "${sed_args[@]}" prometheus/ci-scrape.yml.tmpl >"$WORK/ci-scrape.yml"
  if grep -v '^ *#' "$WORK/ci-scrape.yml" | grep -qE '@[A-Z_]+@'; then echo "unreplaced placeholder in ci-scrape.yml.tmpl"; return 1; fi
  promtool check config "$WORK/ci-scrape.yml"
  local job
  for job in "${SERVICES[@]}"; do
    grep -qE "^  - job_name: $job\$" prometheus/prometheus.yml || { echo "prometheus.yml has no job $job"; return 1; }
  done
  echo "prometheus.yml scrapes all ${#SERVICES[@]} services"
}

# ---------------------------------------------------------------------------------------------
check "shellcheck on scripts/*.sh, scripts/ci/*.sh, scripts/smoke/*.sh" check_shellcheck
check "Dockerfile parses and lints (dockerfile-utils)" check_dockerfile_lint
check "Dockerfile: non-root, exec form, health check, pinned pnpm" check_dockerfile_shape
check "docker-compose.yml is valid Compose (docker-compose config -q)" check_compose_valid
check "Compose parser rejects an unknown key and a missing secret" check_compose_rejects
check "docker-compose.yml: production shape" check_compose_shape
check ".env.example and docker-compose.yml name the same variables" check_env_matches_compose
check ".env.example documents every variable the code reads" check_env_documents_code
check ".env.example holds placeholders, not secrets" check_env_placeholders
check "Prometheus config, rules and CI template (promtool)" check_prometheus

printf '\ncheck-deploy: %d passed, %d failed\n' "$passed" "$failed"
if ((failed > 0)); then
  printf 'failed: %s\n' "${failures[@]}"
  exit 1
fi
