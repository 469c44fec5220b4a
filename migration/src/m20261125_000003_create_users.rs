//! The demo app's own users, one row per address that has signed in, keyed by the
//! `persistent_id` the auth component hands out. Written by the app's sign-in hook, not by
//! the auth component: a fork shapes this table as it likes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    PersistentId,
    Email,
    FirstSeenAt,
    LastSeenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Users::Id))
                    .col(string_uniq(Users::PersistentId))
                    .col(string(Users::Email))
                    .col(timestamp_with_time_zone(Users::FirstSeenAt))
                    .col(timestamp_with_time_zone(Users::LastSeenAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}
