#!/usr/bin/env bash
# dunlog's durable appends against PostgreSQL's event table on this machine, interleaved
# (docs/performance.md, "Against PostgreSQL"): PAIRS pairs, each one run of
# `dunlog bench --appends-only --json` and one pgbench run of bench/postgres-append.pgbench with
# 1 and 64 clients, alternating which goes first; then the ratios dunlog / PostgreSQL per pair
# and their median.
#   bench/compare.sh [PAIRS] [PGBENCH_SECONDS]     defaults: 3 pairs, 10 s per client count
# Needs a release build (cargo build --release -p dunlog), root, and Debian's postgresql package
# (apt-get install -y postgresql). PostgreSQL runs as a throwaway cluster on 127.0.0.1:5433 in a
# temporary directory on the same disk as dunlog's, with synchronous_commit=on and fsync=on (the
# same durability as a dunlog append), and is stopped and deleted afterwards. Only for this
# benchmark: nothing in CI needs PostgreSQL.
set -euo pipefail
pairs=${1:-3}
secs=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
dunlog="$here/../target/release/dunlog"
[ -x "$dunlog" ] || { echo "build first: cargo build --release -p dunlog" >&2; exit 1; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)
[ -n "$pgbin" ] || { echo "needs PostgreSQL: apt-get install -y postgresql" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/dunlog-compare.XXXXXX")
chmod 711 "$work" # postgres must reach its data directory inside
pgdata="$work/pg"
mkdir "$pgdata"
chown postgres "$pgdata"
su postgres -c "$pgbin/initdb -D $pgdata -A trust >/dev/null"
su postgres -c "$pgbin/pg_ctl -D $pgdata -o '-c synchronous_commit=on -c fsync=on -c max_connections=200 -c listen_addresses=127.0.0.1 -c port=5433' -l $pgdata/log start >/dev/null"
trap 'su postgres -c "$pgbin/pg_ctl -D $pgdata stop -m fast" >/dev/null 2>&1; rm -rf "$work"' EXIT
for _ in $(seq 100); do pg_isready -h 127.0.0.1 -p 5433 >/dev/null && break; sleep 0.2; done
psql=(psql -h 127.0.0.1 -p 5433 -U postgres -q)
"${psql[@]}" -f "$here/postgres-schema.sql"
echo "postgres $("${psql[@]}" -Atc 'show server_version') fsync=$("${psql[@]}" -Atc 'show fsync') synchronous_commit=$("${psql[@]}" -Atc 'show synchronous_commit')" >&2

out="$work/pairs.jsonl"
pg_run() {
  "${psql[@]}" -c 'truncate events'
  local one sixty_four
  one=$(pgbench -h 127.0.0.1 -p 5433 -U postgres -n -c 1 -j 1 -T "$secs" -f "$here/postgres-append.pgbench" postgres |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  sixty_four=$(pgbench -h 127.0.0.1 -p 5433 -U postgres -n -c 64 -j 2 -T "$secs" -f "$here/postgres-append.pgbench" postgres |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  echo "{\"pg_1\": $one, \"pg_64\": $sixty_four}"
}
dunlog_run() {
  local dir="$work/dunlog-$1"
  "$dunlog" bench --appends-only --json --data "$dir"
  rm -rf "$dir"
}
for i in $(seq "$pairs"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "pair $i of $pairs (load $load)" >&2
  if [ $((i % 2)) -eq 1 ]; then
    pg=$(pg_run); d=$(dunlog_run "$i")
  else
    d=$(dunlog_run "$i"); pg=$(pg_run)
  fi
  echo "{\"pair\": $i, \"load\": $load, \"pg\": $pg, \"dunlog\": $d}" | tee -a "$out" >&2
done

python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| pair | load | raw fdatasync/s | dunlog 1 writer | PostgreSQL 1 client | ratio | dunlog 64 writers | PostgreSQL 64 clients | ratio |")
print("|---|---|---|---|---|---|---|---|---|")
r1, r64 = [], []
for r in rows:
    d, pg = r["dunlog"], r["pg"]
    a, b = d["append_1_events_per_s"] / pg["pg_1"], d["append_64_events_per_s"] / pg["pg_64"]
    r1.append(a); r64.append(b)
    print(f"| {r['pair']} | {r['load']:.2f} | {d['fdatasync_per_s']:,.0f} | {d['append_1_events_per_s']:,.0f} | "
          f"{pg['pg_1']:,.0f} | {a:.2f}× | {d['append_64_events_per_s']:,.0f} | {pg['pg_64']:,.0f} | {b:.2f}× |")
print(f"\nmedian ratio dunlog / PostgreSQL: 1 writer {statistics.median(r1):.2f}×, "
      f"64 writers {statistics.median(r64):.2f}× ({len(rows)} interleaved pairs)")
PY
