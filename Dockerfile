# syntax=docker/dockerfile:1
# One image for both processes: the API (`node dist/main.js`, the default) and the background
# worker (`node dist/worker.js`). Build: docker build -t nest-service .
ARG NODE_IMAGE=node:24-bookworm-slim

# 1. Compile with the dev dependencies (SWC, .swcrc; types are checked by `npm run typecheck` in CI).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY .swcrc tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only, installed apart so the build's dev dependencies never ship.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. The runtime: compiled code + production node_modules, as the unprivileged `node` user.
FROM ${NODE_IMAGE} AS runtime
# The heap flags keep RSS near 170 MiB under load (docs/benchmarks.md): without a limit V8 sizes
# the heap from the host's memory and lets garbage pile up to ~4× the ~60 MiB live heap. Raise
# max-old-space-size if your service holds more in memory. Same flags as `npm run start:prod`.
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    NODE_OPTIONS="--max-old-space-size=256 --max-semi-space-size=8"
WORKDIR /app
COPY --chown=node:node package.json ./
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 3000
# Liveness only: readiness (/health/ready) is for load balancers, and a Redis outage must not get
# the container restarted. Node has fetch built in, so the slim image needs no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM starts the drain (readiness 503, Connection: close), then a clean close (see README).
STOPSIGNAL SIGTERM
# --no-allocation-site-pretenuring: a V8 option NODE_OPTIONS refuses, so it is on the command line
# (and on the worker's: docker-compose.yml). Why: docs/benchmarks.md, "The first instance".
# --import ./dist/telemetry.js: OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT is set, else nothing
# (docs/tracing.md); it must come before the application's first import, hence the flag.
CMD ["node", "--no-allocation-site-pretenuring", "--import", "./dist/telemetry.js", "dist/main.js"]
