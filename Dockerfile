# syntax=docker/dockerfile:1
#
# One image for the whole HeartGuard workspace. SERVICE selects the service a container runs:
#   docker build -t heartguard/mesh .
#   docker run --rm -e SERVICE=auth --env-file .env heartguard/mesh
# docker-compose.yml runs all seven services from this image. There is no build step: services
# run their TypeScript sources through tsx, so the runtime stage carries the sources, the JSON
# Schemas/XSDs they validate against, production dependencies and tsx — nothing else.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: install production dependencies from the lockfile ---------------------------------
FROM ${NODE_IMAGE} AS build
# Must match "packageManager" in package.json (scripts/ci/check-deploy.sh checks it).
ARG PNPM_VERSION=10.34.9
ENV CI=true
# npm rather than corepack: corepack is leaving Node's images, and older ones fail to verify
# newer pnpm signatures.
RUN npm install --global "pnpm@${PNPM_VERSION}" && pnpm --version
WORKDIR /app

# Tarballs are fetched from the lockfile alone, so this layer stays cached until the lockfile
# changes. The store lives only in this stage; the runtime stage never sees it.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
RUN pnpm fetch --prod

COPY tsconfig.base.json tsconfig.json ./
COPY packages/ packages/
COPY services/ services/
COPY schemas/ schemas/
COPY scripts/docker-install-deps.sh scripts/docker-entry.mjs scripts/docker-healthcheck.mjs scripts/
RUN sh scripts/docker-install-deps.sh

# ---- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE=gateway
ENV NODE_ENV=production \
    SERVICE=${SERVICE} \
    HOST=0.0.0.0 \
    MEDIA_LOCAL_DIR=/data/media
WORKDIR /app
# Code and dependencies stay owned by root: the service user can read but never rewrite them.
COPY --from=build /app /app
# The media service's embedded store (used when GCS_BUCKET is unset); compose mounts a named
# volume here, which Docker seeds with this ownership.
RUN mkdir -p /data/media && chown node:node /data/media
USER node
EXPOSE 5000 5001 5002 5003 5004 5005 5006
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "scripts/docker-healthcheck.mjs"]
# Exec form: node is the process that receives SIGTERM (no shell in between).
ENTRYPOINT ["node", "--import", "tsx", "scripts/docker-entry.mjs"]
