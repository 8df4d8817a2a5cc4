//! Two columns that keep writes to their own account:
//! - `customers.security_stamp`, bumped whenever an account's sessions are ended for its safety
//!   (a password change or reset, a suspension, logging out everywhere). A login checks it under
//!   a row lock as it opens its session, so a login that verified the old password cannot open a
//!   session after the change committed.
//! - `outbox_emails.customer_id`, so that deleting one account deletes its own letters, not those
//!   of another shop's customer with the same address. Existing rows are attributed where exactly
//!   one account has the recipient's address; the others stay unattributed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customers {
    Table,
    SecurityStamp,
}

#[derive(DeriveIden)]
enum OutboxEmails {
    Table,
    CustomerId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Customers::Table)
                    .add_column(big_integer(Customers::SecurityStamp).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxEmails::Table)
                    .add_column(big_integer_null(OutboxEmails::CustomerId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_emails_customer")
                    .table(OutboxEmails::Table)
                    .col(OutboxEmails::CustomerId)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE outbox_emails SET customer_id = \
                   (SELECT c.id FROM customers c WHERE c.email = outbox_emails.recipient) \
                 WHERE (SELECT COUNT(*) FROM customers c WHERE c.email = outbox_emails.recipient) = 1",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ix_outbox_emails_customer").table(OutboxEmails::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter().table(OutboxEmails::Table).drop_column(OutboxEmails::CustomerId).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Customers::Table).drop_column(Customers::SecurityStamp).to_owned(),
            )
            .await
    }
}
