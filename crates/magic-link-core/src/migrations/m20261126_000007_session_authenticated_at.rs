//! When each session last proved who it is: set at sign-in, and again when the person
//! confirms with a passkey before a sensitive action. Sessions from before this migration
//! have none, and count from when they started.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthSession {
    Table,
    AuthenticatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AuthSession::Table)
                    .add_column(timestamp_with_time_zone_null(AuthSession::AuthenticatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AuthSession::Table)
                    .drop_column(AuthSession::AuthenticatedAt)
                    .to_owned(),
            )
            .await
    }
}
