#!/bin/bash
# CPU per appended event, per thread, for the store's append_rate example (64 writers).
# Usage: bench/append_cpu.sh BINARY DIR_PARENT
#   BINARY      a build of `cargo build --release -p store --example append_rate`
#   DIR_PARENT  where the throwaway store goes (/dev/shm takes the disk out: CPU-bound)
# Prints the rate and µs of CPU per event for the writer thread, the sync thread and all threads,
# from `perf record -e cpu-clock` samples (1 kHz). Less disturbed by other processes than the rate.
set -euo pipefail
bin=$1
parent=$2
data=$(mktemp -u "$parent/append-cpu.XXXXXX")
rec=$(mktemp /tmp/append-cpu.XXXXXX.data)
out=$(perf record -q -e cpu-clock -F 1000 -o "$rec" "$bin" --secs 3 --writers 64 --no-fsync "$data" 2>/dev/null)
rate=$(echo "$out" | grep -o '[0-9]*}' | tr -d '}')
perf report -q -i "$rec" --stdio --sort comm -n 2>/dev/null |
  awk -v ev=$((rate * 3)) -v rate="$rate" '{c[$3]+=$2; t+=$2}
    END {printf "rate=%d writer_us/ev=%.2f sync_us/ev=%.2f all_us/ev=%.2f\n", rate,
         c["dunlog-store-wr"]*1000/ev, c["dunlog-store-sy"]*1000/ev, t*1000/ev}'
rm -f "$rec"
