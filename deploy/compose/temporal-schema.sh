#!/bin/sh
# Temporal's schema in the databases postgres-init/ made, set up on the first run and upgraded in
# place on every later one (a newer admin-tools image brings newer versioned schema). Any failure
# stops the stack: the server must not start on a half-made schema.
set -eu
tool() { temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" "$@"; }
for pair in temporal:temporal temporal_visibility:visibility; do
  db=${pair%%:*}
  dir=/etc/temporal/schema/postgresql/v12/${pair##*:}/versioned
  if tool --db "$db" update-schema -d "$dir"; then
    echo "temporal-schema: $db upgraded to the latest schema"
    continue
  fi
  # No schema_version table yet: a database that was never set up.
  tool --db "$db" setup-schema -v 0.0
  tool --db "$db" update-schema -d "$dir"
  echo "temporal-schema: $db set up"
done
