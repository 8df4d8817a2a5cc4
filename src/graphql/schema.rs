//! Building the schema with the configured limits.

use async_graphql::{EmptySubscription, SDLExportOptions, Schema, SchemaBuilder};

use super::{mutation::Mutation, query::Query};
use crate::{config::Settings, state::AppState};

/// The service's executable schema.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

fn builder(settings: &Settings) -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    // Complexity is checked by `guard`, which costs fragments without expanding them and gives
    // introspection its own budget; the depth limit stays here as a second line.
    let builder = Schema::build(Query, Mutation::default(), EmptySubscription)
        .override_output_type_description::<chrono::DateTime<chrono::Utc>>(
            "An instant, as an RFC 3339 date-time in UTC (`2026-12-01T18:23:46Z`).",
        )
        .limit_depth(settings.graphql.max_depth)
        .limit_recursive_depth(32)
        .limit_directives(8);
    if settings.introspection_enabled() {
        builder
    } else {
        // "Did you mean …" would spell out the hidden schema field by field.
        builder.disable_introspection().disable_suggestions()
    }
}

/// The schema serving requests against `state`.
pub fn build(state: AppState) -> AppSchema {
    builder(&state.settings).data(state.clone()).finish()
}

/// The SDL, as committed in `schema.graphql`: what introspection shows, `@specifiedBy` included.
pub fn sdl() -> String {
    builder(&Settings::default()).finish().sdl_with_options(SDLExportOptions::new().include_specified_by())
}
