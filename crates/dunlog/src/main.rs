//! The `dunlog` binary: everything lives in the library (`lib.rs`).

/// mimalloc instead of the system allocator: replay, group commit and GraphQL allocate many
/// small short-lived values, and glibc's malloc/free showed up as a quarter of a rebuild's
/// profile (docs/decisions/0006-allocator.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    dunlog::main()
}
