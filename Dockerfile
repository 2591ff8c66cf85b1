# The Portico image: one image for the sync agent, the edge workers and the key hook of the Helm chart.
#   docker build -t portico:dev .
# Multi-stage: the first stage installs the production dependencies only (no TypeScript compiler, test or
# benchmark tools); the runtime stage is distroless (no shell, no package manager) and runs as uid 65532,
# the user the chart's securityContext names. The sources run through tsx (a production dependency), which
# writes its transform cache under /tmp: the chart mounts an emptyDir there, since the root filesystem is
# read-only.
FROM node:20.20.2-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY cli ./cli
COPY gateway ./gateway
COPY sync ./sync
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/portico.mjs"]
