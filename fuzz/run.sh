#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time: each first replays its checked-in seeds
# (fuzz/seeds/TARGET) and past crashes (fuzz/regressions/TARGET), then fuzzes. New inputs go to
# fuzz/corpus/TARGET (not committed); a crash is written to fuzz/artifacts/TARGET and fails the run.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]      default: 20 s, every target
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked --version 0.13.2`) and a C++ compiler
# (libFuzzer is built from source). Works on the stable toolchain. FUZZ_SANITIZER picks the
# sanitizer (default `none`: the workspace forbids unsafe code, and without ASan the build is
# quicker and runs more inputs; `address` needs `-Z` flags, so RUSTC_BOOTSTRAP=1 is set for it).
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-20}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(codec_decode policy_parse csv_import graphql_input)
fi
sanitizer="${FUZZ_SANITIZER:-none}"
flags=(--sanitizer "$sanitizer")
if [ "$sanitizer" != none ]; then
  # Sanitizers need `-Z` flags: allow them on a stable toolchain.
  export RUSTC_BOOTSTRAP="${RUSTC_BOOTSTRAP:-1}"
fi
# codec_decode and policy_parse need only domain and store: without the `app` feature the
# server (axum, async-graphql, tokio, …) is not built, which is several times quicker.
light=1
for target in "${targets[@]}"; do
  case "$target" in
    codec_decode | policy_parse) ;;
    *) light=0 ;;
  esac
done
if [ "$light" = 1 ]; then
  flags+=(--no-default-features)
fi

echo "== cargo fuzz build (${targets[*]})"
started=$(date +%s)
cargo fuzz build "${flags[@]}" "${targets[@]:0:1}" >/dev/null
for target in "${targets[@]:1}"; do
  cargo fuzz build "${flags[@]}" "$target" >/dev/null
done
echo "built in $(($(date +%s) - started)) s"

mkdir -p target
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  log="target/fuzz-$target.log"
  echo "== fuzz $target for ${seconds} s (log: fuzz/$log)"
  # -timeout: one input running longer than 10 s is a hang and fails the run.
  status=0
  cargo fuzz run "${flags[@]}" "$target" "corpus/$target" "seeds/$target" "regressions/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^(INFO: seed corpus|#[0-9]+[[:space:]]+(INITED|DONE)|stat::number_of_executed_units)' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
    echo "fuzz target $target failed (exit $status): the input is in fuzz/artifacts/$target/" >&2
    echo "reproduce: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run ${flags[*]} $target artifacts/$target/<file>" >&2
    exit "$status"
  fi
done
echo "== fuzzing: ${#targets[@]} targets, no crash"
