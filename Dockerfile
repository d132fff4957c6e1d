# The opsflow image: the worker by default, and every `opsflow` command (alerts serve, codec serve,
# schedules apply, search-attributes ensure) with the same code, config and keys.
# One image, any number of worker replicas against a Temporal cluster.
FROM node:20-bookworm-slim

# pg_dump refuses to dump a server newer than itself, and Debian bookworm's own client is 15: the
# client comes from PostgreSQL's apt repository, at the major of the server the backups dump
# (deploy/compose and deploy/kubernetes run PostgreSQL 16). Set with --build-arg PG_MAJOR=17.
ARG PG_MAJOR=16
# What the activities execute on the worker's machine (docs/production.md, "What each service needs"):
#   git, and ssh for repositories reached over SSH   deploys (the worker's mirror clones)
#   pg_dump, pg_restore, psql                           backups and their restore drills
#   tar, gzip                                           backups of app trees and config files
# systemctl, nginx and journalctl run on the managed hosts (over SSH), not in this image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates postgresql-common \
 && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
 && apt-get install -y --no-install-recommends git openssh-client tar gzip "postgresql-client-${PG_MAJOR}" \
 && rm -rf /var/lib/apt/lists/* \
 && pg_dump --version | grep -q "(PostgreSQL) ${PG_MAJOR}\."

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts/bundle-workflows.ts ./scripts/
# Prebundle workflows so that a worker starts without webpack. --encrypted: with the failure
# converter that encrypts failure texts, which the worker requires when the config turns
# encryption on (both deployments do); build with --build-arg BUNDLE_FLAGS= for a config without it.
ARG BUNDLE_FLAGS=--encrypted
RUN npx tsx scripts/bundle-workflows.ts ${BUNDLE_FLAGS} /app/dist/workflow-bundle.js

# `opsflow …` as one node process (no tsx launcher in between to relay SIGTERM a second time),
# from any working directory.
RUN printf '#!/bin/sh\nexec node --import /app/node_modules/tsx/dist/loader.mjs /app/src/client/cli.ts "$@"\n' > /usr/local/bin/opsflow \
 && chmod 755 /usr/local/bin/opsflow \
 && mkdir -p /var/backups/opsflow /var/cache/opsflow \
 && chown node:node /var/backups/opsflow /var/cache/opsflow

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
