//! The `dunlog` program under the name the end-to-end tests start (see `tests/Cargo.toml`).

fn main() -> std::process::ExitCode {
    dunlog::main()
}
