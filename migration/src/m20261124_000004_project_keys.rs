//! A project that has had an API key keeps requiring one until an operator says otherwise:
//! revoking the last key must not reopen the storefront paths to anyone.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Projects {
    Table,
    RequiresApiKey,
}

#[derive(DeriveIden)]
enum ProjectApiKeys {
    Table,
    ProjectId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Projects::Table)
                    .add_column(boolean(Projects::RequiresApiKey).default(false))
                    .to_owned(),
            )
            .await?;
        // Projects that already had keys keep requiring them.
        manager
            .exec_stmt(
                Query::update()
                    .table(Projects::Table)
                    .value(Projects::RequiresApiKey, true)
                    .and_where(
                        Expr::col(Alias::new("id")).in_subquery(
                            Query::select()
                                .column(ProjectApiKeys::ProjectId)
                                .from(ProjectApiKeys::Table)
                                .to_owned(),
                        ),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Projects::Table).drop_column(Projects::RequiresApiKey).to_owned(),
            )
            .await
    }
}
