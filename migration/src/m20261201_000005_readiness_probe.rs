//! One row that `/ready` rewrites: a database that answers reads but cannot store writes (a full
//! disk) is not ready, and only a write finds that out. `ballast` makes the probe write as much
//! as a registration does; a tiny write still fits into space a failed transaction left behind.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReadinessProbes {
    Table,
    Id,
    CheckedAt,
    Ballast,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReadinessProbes::Table)
                    .col(integer(ReadinessProbes::Id).primary_key())
                    .col(timestamp_with_time_zone(ReadinessProbes::CheckedAt))
                    .col(blob_null(ReadinessProbes::Ballast))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(ReadinessProbes::Table)
                    .columns([ReadinessProbes::Id, ReadinessProbes::CheckedAt])
                    .values_panic([1.into(), Expr::current_timestamp()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ReadinessProbes::Table).to_owned()).await
    }
}
