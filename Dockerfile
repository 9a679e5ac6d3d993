# syntax=docker/dockerfile:1
# kosmo-idp container image.
#   docker build -t kosmo-idp .
# Stages: build (compile TypeScript), prod-deps (runtime node_modules only), runtime.

FROM node:24-bookworm-slim AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

# --- build: all dependencies, then `tsc` emits dist/src/** and dist/migrations/**
FROM base AS build
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build

# --- prod-deps: only production dependencies. The `node` npm package (Node 24 for
# development on older machines) is a devDependency: the image already has Node 24.
FROM base AS prod-deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# --- runtime
FROM base AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    MANAGEMENT_PORT=9000 \
    NODE_OPTIONS="--enable-source-maps --max-semi-space-size=8 --max-old-space-size=512"
# Node sizes its heap by the host's memory, not the container's limit (docker-compose.yml: 768 MB):
# --max-semi-space-size=8: the young generation (up to 128 MB on a large host) stays at 8 MB;
# --max-old-space-size=512: the old generation's ceiling fits the container, and under this ceiling
# V8 grows the heap by about 1.5x its live objects between collections instead of up to 4x. The live
# set is about 50 MB; the server's peak under load drops from near 300 MB to under 200 MB at no
# measurable cost in logins/s (BENCHMARKS.md, (c)). Raise both together.
# Everything stays owned by root, so the app (running as `node`) cannot modify its own code.
# package.json is needed at runtime: "type": "module" makes dist/**/*.js ES modules.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/migrations ./dist/migrations
# Read relative to the working directory (/app). config/ holds the demo societies
# (config/societies/<id>/); mount your own over /app/config (see docker-compose.yml).
COPY views ./views
COPY locales ./locales
COPY static ./static
COPY config ./config

USER node
# 3000: the public port; 9000: the management port (/metrics, /health/live, /health/ready, /health/started).
EXPOSE 3000 9000
# node:*-slim has no curl; Node's global fetch does the check. Liveness here; docker-compose.yml
# checks readiness (/health/ready) before the load balancer's second replica starts.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9000/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM: not ready, then the requests in flight finish (SHUTDOWN_DELAY_SECONDS, SHUTDOWN_TIMEOUT_SECONDS).
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
