//! Signed webhooks: each project's endpoints, the events its accounts' writes produce (kept, so
//! that a delivery can be repeated with the same id), a sequence per customer so receivers can
//! order them, and a lane on every job so that one slow receiver never holds back another.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    ProjectId,
    Url,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    EventTypes,
    Enabled,
    DisabledReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    Id,
    ProjectId,
    CustomerId,
    Kind,
    Sequence,
    Payload,
    OccurredAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    EventSequence,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Lane,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(pk_auto(WebhookEndpoints::Id))
                    .col(integer(WebhookEndpoints::ProjectId))
                    .col(string_len(WebhookEndpoints::Url, 2048))
                    .col(string_len(WebhookEndpoints::Secret, 128))
                    .col(string_len_null(WebhookEndpoints::PreviousSecret, 128))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::PreviousSecretUntil))
                    .col(text(WebhookEndpoints::EventTypes))
                    .col(boolean(WebhookEndpoints::Enabled).default(true))
                    .col(text_null(WebhookEndpoints::DisabledReason))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookEndpoints::Table, WebhookEndpoints::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookEvents::Table)
                    .col(string_len(WebhookEvents::Id, 64).primary_key())
                    .col(integer(WebhookEvents::ProjectId))
                    .col(big_integer_null(WebhookEvents::CustomerId))
                    .col(string_len(WebhookEvents::Kind, 64))
                    .col(big_integer(WebhookEvents::Sequence))
                    .col(text(WebhookEvents::Payload))
                    .col(timestamp_with_time_zone(WebhookEvents::OccurredAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_events_customer")
                    .table(WebhookEvents::Table)
                    .col(WebhookEvents::CustomerId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Customers::Table)
                    .add_column(big_integer(Customers::EventSequence).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .add_column(string_len(Jobs::Lane, 64).default(""))
                    .to_owned(),
            )
            .await?;
        manager.get_connection().execute_unprepared("UPDATE jobs SET lane = kind").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Jobs::Table).drop_column(Jobs::Lane).to_owned()).await?;
        manager
            .alter_table(
                Table::alter().table(Customers::Table).drop_column(Customers::EventSequence).to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(WebhookEvents::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned()).await
    }
}
