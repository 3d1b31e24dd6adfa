#!/bin/sh
# Installs the workspace's production dependencies from pnpm-lock.yaml, plus tsx, into the
# current directory (a copy of the repository). Used by the Dockerfile's build stage and by
# scripts/ci/rehearse-image.sh, so CI exercises the very same steps without a Docker engine.
#
# Services run their TypeScript through tsx in production, so tsx belongs to the runtime closure.
# While the root package.json still lists it under devDependencies, it is promoted here to a
# dependency with the same range; the lockfile already pins its version, and the check below
# fails the build if the installed version differs from the locked one.
set -eu

locked_tsx_version() {
  # importers['.'] of pnpm-lock.yaml: "      tsx:" then "        specifier: …" then "        version: X"
  awk '
    /^importers:/ { in_importers = 1; next }
    in_importers && /^  \.:$/ { in_root = 1; next }
    in_root && /^  [^ ]/ { exit }
    in_root && /^      tsx:$/ { found = 1; next }
    found && /^        version:/ { print $2; exit }
  ' pnpm-lock.yaml
}

expected=$(locked_tsx_version)
if [ -z "$expected" ]; then
  echo "docker-install-deps: tsx is not a direct dependency of the workspace root in pnpm-lock.yaml" >&2
  exit 1
fi

if node -e "process.exit(require('./package.json').dependencies?.tsx ? 0 : 1)"; then
  pnpm install --prod --frozen-lockfile --prefer-offline
else
  range=$(node -p "require('./package.json').devDependencies.tsx")
  npm pkg set "dependencies.tsx=$range"
  npm pkg delete devDependencies.tsx
  # Only the root importer's tsx entry moves from devDependencies to dependencies; every other
  # resolution is taken from the lockfile as is.
  pnpm install --prod --no-frozen-lockfile --prefer-offline
fi

installed=$(node -p "JSON.parse(require('node:fs').readFileSync('node_modules/tsx/package.json', 'utf8')).version")
if [ "$installed" != "$expected" ]; then
  echo "docker-install-deps: installed tsx $installed but the lockfile pins $expected" >&2
  exit 1
fi

# Fail here rather than at container start if a service imports something that is only a
# devDependency: load every service module (service.ts exports start(); importing it starts nothing).
for module in services/*/src/service.ts; do
  [ -f "$module" ] || continue
  node --import tsx --input-type=module -e "await import('./$module')"
  echo "docker-install-deps: $module loads with production dependencies"
done
