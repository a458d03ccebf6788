//! The running application behind every door (HTTP, the local channel, the CLI on a stopped
//! ledger): the service that decides and appends, the live read model, tokens and roles.
//! Nothing here knows HTTP, GraphQL or the terminal.

pub mod auth;
pub mod background;
pub mod live;
pub mod service;
