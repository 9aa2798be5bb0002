# syntax=docker/dockerfile:1
# Not built on the project's own machines (they have no Docker engine); the
# build stage runs the same install script as CI.
# Node 22, the oldest LTS line still supported upstream; scripts/node-versions.sh
# runs the build and the unit suites on Node 22 and 24.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY bin ./bin
RUN bash scripts/install.sh && npm prune --omit=dev

FROM node:22-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends libssl3 libsasl2-2 zlib1g libzstd1 liblz4-1 libcurl4 \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json example.ini ./
COPY bin ./bin
COPY templates ./templates
COPY flink ./flink
COPY contracts ./contracts
RUN mkdir -p /data && chown node:node /data
USER node
ENV NODE_ENV=production
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:8000/health-check').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# Mount your Kafka client file at /config/client.ini (see example.ini).
ENTRYPOINT ["node", "bin/pizza"]
CMD ["all", "--config", "/config/client.ini", "--host", "0.0.0.0", "--data-dir", "/data", "--log-dir", "/data/logs"]
