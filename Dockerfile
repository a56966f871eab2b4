# syntax=docker/dockerfile:1
#
# Historical Data API image: three stages on the official Node LTS image (Debian bookworm, slim).
#   deps    - production dependencies only (better-sqlite3 compiles here, so the tool chain stays
#             out of the runtime image)
#   build   - all dependencies, `npm run build` (nest build: API, CLI and migrations into dist/)
#   runtime - node + tini + production node_modules + dist + config, as the non-root user "node"
#
# Build:  docker build -t historical-data-api:$(git rev-parse --short HEAD) .
# Run:    docker run -p 3000:3000 -e API_KEYS=ops:<16+ char key>:admin -e DB_MIGRATIONS_RUN=true \
#           -v hd-data:/app/data historical-data-api:<tag>
#         (NODE_ENV=production refuses to start without API_KEYS; config/production.env leaves
#         migrations to a separate step, so a lone container on the embedded SQLite asks for them)
# CLI:    docker run --rm -e DATABASE_URL=mysql://... historical-data-api:<tag> \
#           historical-data migrate show
#
# The CI suite runs on Node 20.20; the image uses the Node 22 LTS line (package.json engines: >= 20.19).
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# node-gyp needs these when better-sqlite3 has no prebuilt binary for this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# The stand-in for nest-commander's shell-completion helper (keeps prettier out of the image).
COPY vendor ./vendor
ENV SCARF_ANALYTICS=false
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY vendor ./vendor
ENV SCARF_ANALYTICS=false
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
COPY migrations ./migrations
COPY test/bench ./test/bench
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM/SIGINT to node and reaps zombies, so the API's graceful
# shutdown (readiness 503, in-flight requests finish, uploads marked interrupted) really runs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    UPLOAD_DIR=/app/data/uploads
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
# node_modules/@fig/complete-commander links here.
COPY --chown=root:root vendor ./vendor
COPY --from=build --chown=root:root /app/dist/apps ./dist/apps
COPY --from=build --chown=root:root /app/dist/libs ./dist/libs
COPY --from=build --chown=root:root /app/dist/migrations ./dist/migrations
COPY --chown=root:root package.json ./
COPY --chown=root:root config ./config
COPY --chown=root:root scripts/healthcheck.mjs ./scripts/healthcheck.mjs
# The CLI (migrate, import, export, openapi, seed-demo) as one command on the PATH.
RUN printf '#!/bin/sh\nexec node /app/dist/apps/cli/src/main.js "$@"\n' > /usr/local/bin/historical-data \
 && chmod 0755 /usr/local/bin/historical-data \
 && mkdir -p /app/data/uploads \
 && chown -R node:node /app/data
# Code and config belong to root and are read-only to the service; only /app/data is writable
# (the embedded SQLite file and upload spool). On Kubernetes the root filesystem is read-only and
# /app/data and /tmp are emptyDir volumes.
USER node
VOLUME ["/app/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "scripts/healthcheck.mjs", "/health"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# The API applies pending migrations at start when DB_MIGRATIONS_RUN=true (the Compose stack sets
# it); config/production.env leaves it false, as on Kubernetes, where the migration Job runs
# `historical-data migrate` before the replicas roll and replicas only serve.
CMD ["node", "--max-semi-space-size=32", "dist/apps/api/src/main.js"]
