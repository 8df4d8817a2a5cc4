//! The GraphQL door: types, resolvers and the `/graphql` endpoint. Resolvers parse, call one
//! domain function, and shape the answer.

pub mod guard;
mod handler;
mod mutation;
mod query;
mod schema;
mod types;

pub use handler::{graphql_get, graphql_post, too_many_requests};
pub use schema::{AppSchema, build, sdl};
