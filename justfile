# dunlog tasks. `just --list` shows them.

# Run every test, as CI does.
test:
    cargo test --workspace --locked

# Serve the demo ledger on http://127.0.0.1:8080/graphql
run:
    cargo run --release -p dunlog -- serve --demo

# Measure the SPEC §10 targets (release build).
bench:
    cargo run --release -p dunlog -- bench --data target/bench-data

# Format and lint as CI does.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
