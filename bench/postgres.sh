#!/usr/bin/env bash
# Measures PostgreSQL as an event store on this machine, for comparison with `dunlog bench`
# (docs/performance.md): one events table with a gapless-enough bigserial position and a unique
# (stream, version), synchronous_commit=on and fsync=on, 1 and 64 concurrent clients.
# Needs Debian's postgresql package (apt-get install postgresql); runs a throwaway cluster on
# 127.0.0.1:5433 in a temporary directory and stops it afterwards.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
data=$(mktemp -d)
chown postgres "$data"
su postgres -c "$bin/initdb -D $data -A trust >/dev/null"
su postgres -c "$bin/pg_ctl -D $data -o '-c synchronous_commit=on -c fsync=on -c max_connections=200 -c listen_addresses=127.0.0.1 -c port=5433' -l $data/log start >/dev/null"
trap 'su postgres -c "$bin/pg_ctl -D $data stop" >/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do pg_isready -h 127.0.0.1 -p 5433 >/dev/null && break; sleep 0.2; done
psql -h 127.0.0.1 -p 5433 -U postgres -q -f "$here/postgres-schema.sql"
for clients in 1 64; do
  echo "clients=$clients"
  pgbench -h 127.0.0.1 -p 5433 -U postgres -n -c "$clients" -j 2 -T 15 -f "$here/postgres-append.pgbench" postgres | grep -E 'tps|latency average'
done
psql -h 127.0.0.1 -p 5433 -U postgres -Atc "select 'bytes_per_event=' || pg_total_relation_size('events')/count(*) from events"
