//! One durable queue and one sliding-window store.
//!
//! - `jobs` holds every kind of background work (mail delivery, guest-order linking, and what
//!   comes later): one claim rule, one backoff, one give-up rule. Every row of `outbox_emails`
//!   (pending, failed and sent: the sent ones are the delivery history a customer's export shows)
//!   and of `background_jobs` moves into it; a letter keeps its `Message-ID` (`outbox-ID`), so a
//!   message sent just before the upgrade and sent again after is still recognisable as a repeat.
//! - `event_windows` holds per-key events counted over a sliding window (failed logins, reset
//!   requests, verification mails), moved from `login_failures` and `reset_requests`.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Kind,
    CustomerId,
    Payload,
    Attempts,
    LastError,
    NextAttemptAt,
    LockedUntil,
    CreatedAt,
    DoneAt,
    FailedAt,
}

#[derive(DeriveIden)]
enum EventWindows {
    Table,
    Id,
    Kind,
    Key,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutboxEmails {
    Table,
}

#[derive(DeriveIden)]
enum BackgroundJobs {
    Table,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
}

#[derive(DeriveIden)]
enum ResetRequests {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(big_pk_auto(Jobs::Id))
                    .col(string_len(Jobs::Kind, 32))
                    .col(big_integer_null(Jobs::CustomerId))
                    .col(text(Jobs::Payload))
                    .col(integer(Jobs::Attempts).default(0))
                    .col(text_null(Jobs::LastError))
                    .col(timestamp_with_time_zone(Jobs::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(Jobs::LockedUntil))
                    .col(timestamp_with_time_zone(Jobs::CreatedAt))
                    .col(timestamp_with_time_zone_null(Jobs::DoneAt))
                    .col(timestamp_with_time_zone_null(Jobs::FailedAt))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("ix_jobs_due", vec![Jobs::DoneAt, Jobs::FailedAt, Jobs::NextAttemptAt]),
            ("ix_jobs_customer", vec![Jobs::CustomerId]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Jobs::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(EventWindows::Table)
                    .col(big_pk_auto(EventWindows::Id))
                    .col(string_len(EventWindows::Kind, 32))
                    .col(string_len(EventWindows::Key, 255))
                    .col(timestamp_with_time_zone(EventWindows::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_event_windows_key")
                    .table(EventWindows::Table)
                    .col(EventWindows::Kind)
                    .col(EventWindows::Key)
                    .col(EventWindows::CreatedAt)
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        let letter = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "json_build_object('to', recipient, 'subject', subject, 'text', text_body, \
                 'html', html_body, 'message_id', 'outbox-' || id)::text"
            }
            _ => {
                "json_object('to', recipient, 'subject', subject, 'text', text_body, \
                 'html', html_body, 'message_id', 'outbox-' || id)"
            }
        };
        db.execute_unprepared(&format!(
            "INSERT INTO jobs (kind, customer_id, payload, attempts, last_error, next_attempt_at, \
               locked_until, created_at, done_at, failed_at) \
             SELECT 'mail', customer_id, {letter}, attempts, last_error, next_attempt_at, locked_until, \
               created_at, sent_at, failed_at \
             FROM outbox_emails ORDER BY id"
        ))
        .await?;
        db.execute_unprepared(
            "INSERT INTO jobs (kind, customer_id, payload, attempts, last_error, next_attempt_at, \
               locked_until, created_at, done_at, failed_at) \
             SELECT kind, customer_id, '{}', attempts, last_error, next_attempt_at, locked_until, \
               created_at, done_at, NULL \
             FROM background_jobs ORDER BY id",
        )
        .await?;
        for (kind, table) in [("login_failure", "login_failures"), ("reset_request", "reset_requests")] {
            db.execute_unprepared(&format!(
                "INSERT INTO event_windows (kind, key, created_at) \
                 SELECT '{kind}', CAST(project_id AS TEXT) || ':' || email_normalized, created_at FROM {table}"
            ))
            .await?;
        }
        manager.drop_table(Table::drop().table(OutboxEmails::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(BackgroundJobs::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(LoginFailures::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ResetRequests::Table).to_owned()).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The old tables' rows were moved, not copied; putting them back would need the old
        // code's shapes. Restore from a backup taken before upgrading instead.
        Err(DbErr::Migration("the move to one queue cannot be reverted; restore a backup".to_owned()))
    }
}
