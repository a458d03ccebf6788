//! End-to-end tests: each starts the real program (`dunlog-e2e serve`) on a free loopback port
//! with a temporary data directory and talks to it over HTTP and WebSocket, as a user would.

mod amounts;
mod beside;
mod browser;
mod chain_check;
mod chromium;
mod cli;
mod crash;
mod dashboard;
mod demo;
mod instants;
mod introspection;
mod limits;
mod messages;
mod reminders;
mod restart;
mod roles;
mod scenarios;
mod slow;
mod smtp_sink;
mod soak;
mod storm;
mod subscription;
mod support;
mod tidy;
mod time_travel;
mod tokens;
mod values;
mod verify;
mod whatif;
