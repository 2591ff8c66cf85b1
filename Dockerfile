# The Portico image: one image for the sync agent, the edge workers and the key hook of the Helm chart.
#   npm run build && podman build -t portico:dev .      (or docker build)
# It runs the compiled build (dist/, written by `npm run build`: tsc with tsconfig.build.json), not the TypeScript
# sources: no transpiler at start, no transform cache, and the compiler (TypeScript 7, a native binary per
# platform) stays a development tool outside the image.
# Multi-stage: the deps stage installs the production dependencies only; the runtime stage is distroless (no
# shell, no package manager) and runs as uid 65532, the user the chart's securityContext names, on a read-only
# root filesystem (the worker's table cache goes to /tmp, an emptyDir in the chart).
# Both bases are build arguments whose defaults are the published images. A machine that cannot pull them
# passes bases it assembled itself (test/build/image.test.ts does, from the machine's own node binary, and lends
# the deps stage its npm cache: `npm ci --prefer-offline` then needs no network).
ARG DEPS_BASE=node:20.20.2-bookworm-slim
ARG BASE=gcr.io/distroless/nodejs20-debian12:nonroot

FROM ${DEPS_BASE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund && rm -rf /root/.npm/_logs

FROM ${BASE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY dist ./dist
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/cli/portico.js"]
