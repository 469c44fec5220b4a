//! Failed sign-in attempts per client IP, so redeeming links and codes can be rate limited
//! by address as well as per credential.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthFailure {
    Table,
    Id,
    ClientIp,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuthFailure::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuthFailure::Id))
                    .col(string(AuthFailure::ClientIp))
                    .col(timestamp_with_time_zone(AuthFailure::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_auth_failure_ip_created")
                    .table(AuthFailure::Table)
                    .col(AuthFailure::ClientIp)
                    .col(AuthFailure::CreatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(AuthFailure::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
