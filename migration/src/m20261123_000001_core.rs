//! Projects (shops), customer groups, customers and login sessions.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CustomerGroups {
    Table,
    Id,
    Code,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    ProjectId,
    Email,
    EmailNormalized,
    PasswordHash,
    FirstName,
    LastName,
    Gender,
    DateOfBirth,
    Phone,
    Status,
    CustomerGroupId,
    EmailVerifiedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    CustomerId,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Projects::Table)
                    .col(pk_auto(Projects::Id))
                    .col(string_len(Projects::Name, 191))
                    .col(timestamp_with_time_zone(Projects::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Projects::Table)
                    .columns([Projects::Id, Projects::Name, Projects::CreatedAt])
                    .values_panic([1.into(), "Default".into(), Expr::current_timestamp()])
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CustomerGroups::Table)
                    .col(pk_auto(CustomerGroups::Id))
                    .col(string_len_uniq(CustomerGroups::Code, 64))
                    .col(string_len(CustomerGroups::Name, 191))
                    .col(timestamp_with_time_zone_null(CustomerGroups::CreatedAt))
                    .col(timestamp_with_time_zone_null(CustomerGroups::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Ids follow Bagisto's seed (general = 2), which legacy clients see in `group.id`.
        let mut seed = Query::insert()
            .into_table(CustomerGroups::Table)
            .columns([CustomerGroups::Id, CustomerGroups::Code, CustomerGroups::Name])
            .to_owned();
        for (id, code, name) in
            [(1, "guest", "Guest"), (2, "general", "General"), (3, "wholesale", "Wholesale")]
        {
            seed.values_panic([id.into(), code.into(), name.into()]);
        }
        manager.exec_stmt(seed).await?;
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // Explicit ids above leave the sequences behind; move them past the seed.
            manager
                .get_connection()
                .execute_unprepared(
                    "SELECT setval(pg_get_serial_sequence('projects', 'id'), (SELECT MAX(id) FROM projects));
                     SELECT setval(pg_get_serial_sequence('customer_groups', 'id'), (SELECT MAX(id) FROM customer_groups));",
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .col(big_pk_auto(Customers::Id))
                    .col(integer(Customers::ProjectId))
                    .col(string_len(Customers::Email, 191))
                    .col(string_len(Customers::EmailNormalized, 191))
                    .col(string_len(Customers::PasswordHash, 255))
                    .col(string_len(Customers::FirstName, 191))
                    .col(string_len(Customers::LastName, 191))
                    .col(string_len_null(Customers::Gender, 16))
                    .col(date_null(Customers::DateOfBirth))
                    .col(string_len_null(Customers::Phone, 191))
                    .col(small_integer(Customers::Status).default(1))
                    .col(integer(Customers::CustomerGroupId))
                    .col(timestamp_with_time_zone_null(Customers::EmailVerifiedAt))
                    .col(timestamp_with_time_zone(Customers::CreatedAt))
                    .col(timestamp_with_time_zone(Customers::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Customers::Table, Customers::ProjectId)
                            .to(Projects::Table, Projects::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Customers::Table, Customers::CustomerGroupId)
                            .to(CustomerGroups::Table, CustomerGroups::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The database, not a check-then-insert, decides which of two racing registrations wins.
        manager
            .create_index(
                Index::create()
                    .name("ux_customers_project_email")
                    .table(Customers::Table)
                    .col(Customers::ProjectId)
                    .col(Customers::EmailNormalized)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(pk_uuid(Sessions::Id))
                    .col(big_integer(Sessions::CustomerId))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Sessions::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sessions_customer")
                    .table(Sessions::Table)
                    .col(Sessions::CustomerId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Sessions::Table.into_iden(),
            Customers::Table.into_iden(),
            CustomerGroups::Table.into_iden(),
            Projects::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
