//! SeaORM entities, one file per table. They are storage, not API shapes.

pub mod address;
pub mod background_job;
pub mod customer;
pub mod customer_group;
pub mod guest_order;
pub mod login_failure;
pub mod one_time_token;
pub mod outbox_email;
pub mod project;
pub mod project_api_key;
pub mod refresh_token;
pub mod reset_request;
pub mod session;
