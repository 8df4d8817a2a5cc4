//! What the legacy REST contracts need: opaque session tokens (cookie and Sanctum-style bearer),
//! the webshop's customer fields and billing addresses, project API keys, and login failures.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TokenHash,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    AccountType,
    Company,
    TaxNumber,
    CartReminderConsent,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Addresses {
    Table,
    Id,
    CustomerId,
    Kind,
    IsDefault,
    FirstName,
    LastName,
    Street,
    Number,
    Postcode,
    City,
    Country,
    Phone,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProjectApiKeys {
    Table,
    Id,
    ProjectId,
    Name,
    KeyHash,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    ProjectId,
    EmailNormalized,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(string_len_null(Sessions::TokenHash, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_sessions_token_hash")
                    .table(Sessions::Table)
                    .col(Sessions::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for column in [
            string_len_null(Customers::AccountType, 16),
            string_len_null(Customers::Company, 191),
            string_len_null(Customers::TaxNumber, 191),
            boolean_null(Customers::CartReminderConsent),
        ] {
            manager.alter_table(Table::alter().table(Customers::Table).add_column(column).to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Addresses::Table)
                    .col(big_pk_auto(Addresses::Id))
                    .col(big_integer(Addresses::CustomerId))
                    .col(string_len(Addresses::Kind, 16))
                    .col(boolean(Addresses::IsDefault).default(false))
                    .col(string_len_null(Addresses::FirstName, 191))
                    .col(string_len_null(Addresses::LastName, 191))
                    .col(string_len_null(Addresses::Street, 191))
                    .col(string_len_null(Addresses::Number, 191))
                    .col(string_len_null(Addresses::Postcode, 191))
                    .col(string_len_null(Addresses::City, 191))
                    .col(string_len_null(Addresses::Country, 2))
                    .col(string_len_null(Addresses::Phone, 191))
                    .col(timestamp_with_time_zone(Addresses::CreatedAt))
                    .col(timestamp_with_time_zone(Addresses::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Addresses::Table, Addresses::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_addresses_customer")
                    .table(Addresses::Table)
                    .col(Addresses::CustomerId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProjectApiKeys::Table)
                    .col(pk_auto(ProjectApiKeys::Id))
                    .col(integer(ProjectApiKeys::ProjectId))
                    .col(string_len(ProjectApiKeys::Name, 191))
                    .col(string_len_uniq(ProjectApiKeys::KeyHash, 64))
                    .col(timestamp_with_time_zone(ProjectApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ProjectApiKeys::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProjectApiKeys::Table, ProjectApiKeys::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginFailures::Table)
                    .col(big_pk_auto(LoginFailures::Id))
                    .col(integer(LoginFailures::ProjectId))
                    .col(string_len(LoginFailures::EmailNormalized, 191))
                    .col(timestamp_with_time_zone(LoginFailures::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_login_failures_email")
                    .table(LoginFailures::Table)
                    .col(LoginFailures::ProjectId)
                    .col(LoginFailures::EmailNormalized)
                    .col(LoginFailures::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LoginFailures::Table.into_iden(),
            ProjectApiKeys::Table.into_iden(),
            Addresses::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        for column in
            [Customers::CartReminderConsent, Customers::TaxNumber, Customers::Company, Customers::AccountType]
        {
            manager
                .alter_table(Table::alter().table(Customers::Table).drop_column(column).to_owned())
                .await?;
        }
        manager
            .drop_index(Index::drop().name("ux_sessions_token_hash").table(Sessions::Table).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Sessions::Table).drop_column(Sessions::TokenHash).to_owned())
            .await
    }
}
