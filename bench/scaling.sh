#!/usr/bin/env bash
# How cost grows with the size of the log (docs/performance.md, "Scaling"): runs
# `dunlog bench --json` at several sizes, each on a fresh ledger that is deleted afterwards,
# and prints one JSON object per size, then a Markdown table.
#   bench/scaling.sh [SIZES...]      default: 100000 1000000 3000000 (10M: see docs/performance.md, Scaling)
# Needs a release build (cargo build --release -p dunlog) and ~1.5 KB of free disk per event
# of the largest size. Takes about as many minutes as the largest size has millions of events.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/../target/release/dunlog"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000 3000000)
work=$(mktemp -d "${TMPDIR:-/tmp}/dunlog-scaling.XXXXXX")
trap 'rm -rf "$work"' EXIT
out="$work/results.jsonl"
for n in "${sizes[@]}"; do
  "$bin" bench --events "$n" --json --data "$work/$n" >>"$out"
  tail -1 "$out"
  rm -rf "${work:?}/$n"
done
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cols = [("events", "events", "{:,.0f}"), ("accounts", "accounts", "{:,.0f}"),
        ("append 64 ev/s", "append_64_events_per_s", "{:,.0f}"),
        ("replay ev/s", "replay_events_per_s", "{:,.0f}"),
        ("rebuild ev/s", "rebuild_events_per_s", "{:,.0f}"),
        ("restart s", "restart_s", "{:.2f}"),
        ("exposure p99 ms", "exposure_p99_ms", "{:.2f}"),
        ("aging p99 ms", "aging_10k_p99_ms", "{:.1f}"),
        ("RSS MiB", "rss_mib", "{:,.0f}"),
        ("disk B/event", "disk_bytes_per_event", "{:,.0f}")]
print("| " + " | ".join(c[0] for c in cols) + " |")
print("|" + "---|" * len(cols))
for r in rows:
    print("| " + " | ".join(f.format(r.get(k, float("nan"))) for _, k, f in cols) + " |")
PY
