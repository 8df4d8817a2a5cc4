//! Guest orders a shop's checkout reports, linked to the account of the same email in the
//! background, and the table of background jobs that does it (claimed like the outbox, so a
//! crash loses none).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum GuestOrders {
    Table,
    Id,
    ProjectId,
    Reference,
    Email,
    EmailNormalized,
    Total,
    Currency,
    PlacedAt,
    CustomerId,
    LinkedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BackgroundJobs {
    Table,
    Id,
    Kind,
    CustomerId,
    Attempts,
    LastError,
    NextAttemptAt,
    LockedUntil,
    CreatedAt,
    DoneAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
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
                    .table(GuestOrders::Table)
                    .col(big_pk_auto(GuestOrders::Id))
                    .col(integer(GuestOrders::ProjectId))
                    .col(string_len(GuestOrders::Reference, 191))
                    .col(string_len(GuestOrders::Email, 191))
                    .col(string_len(GuestOrders::EmailNormalized, 191))
                    // Exact decimal text ("19.99"): no float ever touches money.
                    .col(string_len(GuestOrders::Total, 32))
                    .col(string_len(GuestOrders::Currency, 3))
                    .col(timestamp_with_time_zone(GuestOrders::PlacedAt))
                    .col(big_integer_null(GuestOrders::CustomerId))
                    .col(timestamp_with_time_zone_null(GuestOrders::LinkedAt))
                    .col(timestamp_with_time_zone(GuestOrders::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(GuestOrders::Table, GuestOrders::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GuestOrders::Table, GuestOrders::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("ux_guest_orders_reference", vec![GuestOrders::ProjectId, GuestOrders::Reference]),
            ("ix_guest_orders_email", vec![GuestOrders::ProjectId, GuestOrders::EmailNormalized]),
            ("ix_guest_orders_customer", vec![GuestOrders::CustomerId]),
        ] {
            let mut index = Index::create();
            index.name(name).table(GuestOrders::Table);
            if name.starts_with("ux_") {
                index.unique();
            }
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(BackgroundJobs::Table)
                    .col(big_pk_auto(BackgroundJobs::Id))
                    .col(string_len(BackgroundJobs::Kind, 32))
                    .col(big_integer(BackgroundJobs::CustomerId))
                    .col(integer(BackgroundJobs::Attempts).default(0))
                    .col(text_null(BackgroundJobs::LastError))
                    .col(timestamp_with_time_zone(BackgroundJobs::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(BackgroundJobs::LockedUntil))
                    .col(timestamp_with_time_zone(BackgroundJobs::CreatedAt))
                    .col(timestamp_with_time_zone_null(BackgroundJobs::DoneAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_background_jobs_due")
                    .table(BackgroundJobs::Table)
                    .col(BackgroundJobs::DoneAt)
                    .col(BackgroundJobs::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(BackgroundJobs::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(GuestOrders::Table).to_owned()).await
    }
}
