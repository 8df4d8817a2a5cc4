//! The GraphQL door: types, resolvers and the `/graphql` endpoint. Resolvers parse, call one
//! domain function, and shape the answer.

mod addresses;
mod context;
mod documents;
mod graphiql;
pub mod guard;
mod handler;
mod mutation;
mod orders;
mod persisted;
mod query;
mod schema;
mod sessions;
mod types;

pub use handler::routes;
pub use schema::{AppSchema, build, sdl};
