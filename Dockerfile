# syntax=docker/dockerfile:1

# Isola in one image. Node 24 strips TypeScript types itself, so the image runs the
# sources as they are: there is no build step for server code, only a dependency install;
# the web app alone is bundled (by Vite, in the `web` stage).
#
# The base is pinned to Node's major version (the one in .node-version), not to a patch
# release: rebuilding picks up Node 24 security fixes, while a new major (which may change
# type stripping or break isolated-vm's native module) is a deliberate change made here.
# bookworm-slim (glibc) matches isolated-vm's prebuilt linux binaries, so no compiler is needed.

# ---- web: the web app's bundles (web/build), made with its build tools (dev dependencies) ----
FROM node:24-bookworm-slim AS web
WORKDIR /app
RUN npm install --global pnpm@12.21.0
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY schema/package.json schema/
COPY sandbox/package.json sandbox/
COPY runtime/package.json runtime/
COPY control/package.json control/
COPY web/package.json web/
RUN pnpm install --frozen-lockfile --filter "@isola/web..."
COPY tsconfig.base.json ./
COPY schema/ schema/
COPY web/ web/
RUN pnpm --filter @isola/web build

# ---- build: production dependencies only, from the frozen lockfile ----
FROM node:24-bookworm-slim AS build
WORKDIR /app

# The pnpm version the repository pins (package.json "isolaToolchain").
RUN npm install --global pnpm@12.21.0

# Manifests first, so that the install layer is rebuilt only when dependencies change.
# Every workspace package in pnpm-workspace.yaml must be here, or the frozen install fails.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY schema/package.json schema/
COPY sandbox/package.json sandbox/
COPY runtime/package.json runtime/
COPY control/package.json control/
COPY web/package.json web/
RUN pnpm install --frozen-lockfile --prod

# Then the sources (.dockerignore keeps the host's node_modules out). The workspace is
# kept as it is, with pnpm's symlinked node_modules: `pnpm deploy` would copy the workspace
# packages into node_modules, where Node refuses to strip types.
COPY . .

# ---- runtime ----
FROM node:24-bookworm-slim

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    ISOLA_DATA_DIR=/data

WORKDIR /app
# Owned by root: the app user can read the code but not change it.
COPY --from=build /app /app
# The web role serves this build; the image has no build tools to make another.
COPY --from=web /app/web/build /app/web/build

# The only place Isola writes: the embedded database and its generated key (when DATABASE_URL
# is unset) and temporary files (data dir/tmp, unless TMPDIR is set). So the root filesystem may
# be read-only, with no tmpfs: docker run --read-only -v isola-data:/data ... (compose: read_only: true).
RUN mkdir -p /data && chown node:node /data
VOLUME /data

USER node
EXPOSE 3000

# The process drains in-flight requests on SIGTERM (runtime/src/process/shutdown.ts).
STOPSIGNAL SIGTERM

# Slim images have no curl: ask with Node's built-in fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# isolated-vm needs Node's startup snapshot off. `start` migrates the database first, unless
# ISOLA_MIGRATE_ON_START=false (a fleet): then run, once per deploy (a release command),
#   node --no-node-snapshot runtime/src/main.ts migrate
# and nodes refuse to start while migrations are pending.
CMD ["node", "--no-node-snapshot", "runtime/src/main.ts", "start"]
