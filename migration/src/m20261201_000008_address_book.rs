//! The address book: any number of addresses per customer (the service caps it at 50), each of
//! which may be the default billing and/or the default shipping address. "One default per kind"
//! is a partial unique index, so the database decides it, whatever races above it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Addresses {
    Table,
    Kind,
    IsDefault,
    Company,
    DefaultBilling,
    DefaultShipping,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            string_len_null(Addresses::Company, 191),
            boolean(Addresses::DefaultBilling).default(false).take(),
            boolean(Addresses::DefaultShipping).default(false).take(),
        ] {
            manager.alter_table(Table::alter().table(Addresses::Table).add_column(column).to_owned()).await?;
        }
        // Until now the only addresses were the webshop's default billing addresses.
        manager
            .exec_stmt(
                Query::update()
                    .table(Addresses::Table)
                    .value(Addresses::DefaultBilling, true)
                    .and_where(Expr::col(Addresses::Kind).eq("billing"))
                    .and_where(Expr::col(Addresses::IsDefault).eq(true))
                    .to_owned(),
            )
            .await?;
        for column in [Addresses::Kind, Addresses::IsDefault] {
            manager
                .alter_table(Table::alter().table(Addresses::Table).drop_column(column).to_owned())
                .await?;
        }
        let db = manager.get_connection();
        for (index, flag) in [
            ("ux_addresses_default_billing", "default_billing"),
            ("ux_addresses_default_shipping", "default_shipping"),
        ] {
            // Partial indexes read the same in SQLite and PostgreSQL.
            db.execute_unprepared(&format!(
                "CREATE UNIQUE INDEX {index} ON addresses (customer_id) WHERE {flag} = TRUE"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in ["ux_addresses_default_billing", "ux_addresses_default_shipping"] {
            manager.drop_index(Index::drop().name(index).table(Addresses::Table).to_owned()).await?;
        }
        for column in [
            string_len(Addresses::Kind, 16).default("billing").take(),
            boolean(Addresses::IsDefault).default(false).take(),
        ] {
            manager.alter_table(Table::alter().table(Addresses::Table).add_column(column).to_owned()).await?;
        }
        manager
            .exec_stmt(
                Query::update()
                    .table(Addresses::Table)
                    .value(Addresses::IsDefault, true)
                    .and_where(Expr::col(Addresses::DefaultBilling).eq(true))
                    .to_owned(),
            )
            .await?;
        for column in [Addresses::Company, Addresses::DefaultBilling, Addresses::DefaultShipping] {
            manager
                .alter_table(Table::alter().table(Addresses::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
