//! SeaORM entities, one file per table. They are storage, not API shapes.

pub mod address;
pub mod customer;
pub mod customer_group;
pub mod event_window;
pub mod guest_order;
pub mod job;
pub mod one_time_token;
pub mod project;
pub mod project_api_key;
pub mod refresh_token;
pub mod session;
pub mod webhook_endpoint;
pub mod webhook_event;
