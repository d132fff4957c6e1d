#!/bin/sh
# Run once by the postgres image, on the first start with an empty data volume: Temporal's two
# databases (their schema is temporal-schema.sh's job), and opsflow's own role and database.
# The opsflow role gets CREATEDB for the backup restore drill's scratch database, nothing more.
set -eu
: "${OPSFLOW_DB_PASSWORD:?set OPSFLOW_DB_PASSWORD in opsflow.env}"
OPSFLOW_DB_USER=${OPSFLOW_DB_USER:-opsflow}
OPSFLOW_DB_NAME=${OPSFLOW_DB_NAME:-opsflow}
TEMPORAL_DBS=${TEMPORAL_DBS:-temporal temporal_visibility}
for db in $TEMPORAL_DBS; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v db="$db" <<'SQL'
CREATE DATABASE :"db";
SQL
done
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v role="$OPSFLOW_DB_USER" -v db="$OPSFLOW_DB_NAME" -v pw="$OPSFLOW_DB_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN CREATEDB PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
