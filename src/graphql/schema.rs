//! Building the schema with the configured limits.

use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

use super::{mutation::Mutation, query::Query};
use crate::{config::Settings, state::AppState};

/// The service's executable schema.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

fn builder(settings: &Settings) -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    let builder = Schema::build(Query, Mutation, EmptySubscription)
        .limit_depth(settings.graphql_max_depth)
        .limit_complexity(settings.graphql_max_complexity)
        .limit_recursive_depth(32)
        .limit_directives(8);
    if settings.introspection_enabled() { builder } else { builder.disable_introspection() }
}

/// The schema serving requests against `state`.
pub fn build(state: AppState) -> AppSchema {
    builder(&state.settings).data(state.clone()).finish()
}

/// The SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder(&Settings::default()).finish().sdl()
}
