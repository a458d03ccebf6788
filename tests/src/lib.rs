//! End-to-end tests live in `tests/it`; this library is empty on purpose (the program under test
//! is the `dunlog-e2e` binary in `src/bin`).
