//! Load and soak tooling: `dunlog bench` (the targets of SPEC §10) and `dunlog soak` (hours of
//! mixed traffic) drive the real `dunlog serve`, started as a child process of the running
//! executable, over loopback HTTP. Nothing here is linked into the request path of the server;
//! it must never depend on the `dunlog` crate (the product depends on it, not the reverse).

pub mod bench;
mod http;
pub mod loopback;
pub mod soak;
