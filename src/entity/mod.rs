//! SeaORM entities, one file per table. They are storage, not API shapes.

pub mod customer;
pub mod customer_group;
pub mod one_time_token;
pub mod outbox_email;
pub mod project;
pub mod session;
