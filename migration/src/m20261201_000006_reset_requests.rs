//! Reset requests per address, known or not: the resend cooldown is decided per address, and a
//! request for an unknown address does the same database work as one for a known address, so
//! timing does not tell which addresses have accounts.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ResetRequests {
    Table,
    Id,
    ProjectId,
    EmailNormalized,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ResetRequests::Table)
                    .col(big_pk_auto(ResetRequests::Id))
                    .col(integer(ResetRequests::ProjectId))
                    .col(string_len(ResetRequests::EmailNormalized, 191))
                    .col(timestamp_with_time_zone(ResetRequests::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_reset_requests_email")
                    .table(ResetRequests::Table)
                    .col(ResetRequests::ProjectId)
                    .col(ResetRequests::EmailNormalized)
                    .col(ResetRequests::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ResetRequests::Table).to_owned()).await
    }
}
