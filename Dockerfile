# The opsflow worker image. One image, any number of replicas against a Temporal cluster.
FROM node:20-bookworm-slim

# systemctl/ssh reach the hosts opsflow acts on; postgresql-client for diagnostics.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates openssh-client postgresql-client \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts/bundle-workflows.ts ./scripts/
# Prebundle workflows so that a worker starts without webpack.
RUN npx tsx scripts/bundle-workflows.ts /app/dist/workflow-bundle.js

ENV NODE_ENV=production \
    OPSFLOW_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
    OPSFLOW_CONFIG=/etc/opsflow/opsflow.yaml \
    OPSFLOW_METRICS_HOST=0.0.0.0 \
    OPSFLOW_METRICS_PORT=9464
EXPOSE 9464
USER node
# SIGTERM from `docker stop` reaches node itself (no npx/tsx launcher in between to relay it a
# second time) and lets in-flight activities finish (shutdownGraceTime 30 s).
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "src/worker.ts"]
