//! Recent activity: `auth_event` keeps what happened to each address (a link asked for, a
//! sign-in and how, a sign-out, a passkey added or removed, a wrong code), with when, the
//! browser and the network. The account page shows an address its own; the periodic cleanup
//! deletes rows past the retention. Link requests and wrong codes from one browser and network
//! within an hour are one row with a count, so a stranger cannot push the rest out of view.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthEvent {
    Table,
    Id,
    Email,
    Kind,
    Device,
    Network,
    Count,
    CreatedAt,
}

const EMAIL_INDEX: &str = "idx_auth_event_email_created";
const CREATED_INDEX: &str = "idx_auth_event_created";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuthEvent::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuthEvent::Id))
                    .col(string(AuthEvent::Email))
                    .col(string_len(AuthEvent::Kind, 32))
                    .col(string_null(AuthEvent::Device))
                    .col(string_null(AuthEvent::Network))
                    .col(integer(AuthEvent::Count).default(1))
                    .col(timestamp_with_time_zone(AuthEvent::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(EMAIL_INDEX)
                    .table(AuthEvent::Table)
                    .col(AuthEvent::Email)
                    .col(AuthEvent::CreatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(CREATED_INDEX)
                    .table(AuthEvent::Table)
                    .col(AuthEvent::CreatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuthEvent::Table).to_owned())
            .await
    }
}
