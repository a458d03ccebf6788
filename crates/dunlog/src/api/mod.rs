//! The HTTP edge of `dunlog serve`: the axum router, connection limits, every API limit in one
//! file, the GraphQL schema, GraphiQL and the embedded dashboard. It calls the application
//! (`app`) and never the store directly.

pub mod conn;
pub mod dashboard;
pub mod graphiql;
pub mod graphql;
pub mod limits;
pub mod server;
