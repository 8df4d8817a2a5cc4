//! One-time tokens (password reset, email verification) and the email outbox.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OneTimeTokens {
    Table,
    Id,
    CustomerId,
    Purpose,
    TokenHash,
    Email,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum OutboxEmails {
    Table,
    Id,
    Recipient,
    Subject,
    TextBody,
    HtmlBody,
    Attempts,
    LastError,
    NextAttemptAt,
    LockedUntil,
    CreatedAt,
    SentAt,
    FailedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OneTimeTokens::Table)
                    .col(big_pk_auto(OneTimeTokens::Id))
                    .col(big_integer(OneTimeTokens::CustomerId))
                    .col(string_len(OneTimeTokens::Purpose, 32))
                    .col(string_len_uniq(OneTimeTokens::TokenHash, 64))
                    .col(string_len(OneTimeTokens::Email, 191))
                    .col(timestamp_with_time_zone(OneTimeTokens::CreatedAt))
                    .col(timestamp_with_time_zone(OneTimeTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(OneTimeTokens::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OneTimeTokens::Table, OneTimeTokens::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_one_time_tokens_customer_purpose")
                    .table(OneTimeTokens::Table)
                    .col(OneTimeTokens::CustomerId)
                    .col(OneTimeTokens::Purpose)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OutboxEmails::Table)
                    .col(big_pk_auto(OutboxEmails::Id))
                    .col(string_len(OutboxEmails::Recipient, 191))
                    .col(string_len(OutboxEmails::Subject, 255))
                    .col(text(OutboxEmails::TextBody))
                    .col(text(OutboxEmails::HtmlBody))
                    .col(integer(OutboxEmails::Attempts).default(0))
                    .col(text_null(OutboxEmails::LastError))
                    .col(timestamp_with_time_zone(OutboxEmails::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(OutboxEmails::LockedUntil))
                    .col(timestamp_with_time_zone(OutboxEmails::CreatedAt))
                    .col(timestamp_with_time_zone_null(OutboxEmails::SentAt))
                    .col(timestamp_with_time_zone_null(OutboxEmails::FailedAt))
                    .to_owned(),
            )
            .await?;
        // The worker's question: what is due and neither sent nor given up on?
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_emails_due")
                    .table(OutboxEmails::Table)
                    .col(OutboxEmails::SentAt)
                    .col(OutboxEmails::FailedAt)
                    .col(OutboxEmails::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(OutboxEmails::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(OneTimeTokens::Table).to_owned()).await
    }
}
