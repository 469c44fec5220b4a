//! Signing in a second device from a signed-in one: `auth_device_request`.
//!
//! - `code_hash`: the SHA-256 of the short approval code the new device shows (in a URL and a
//!   QR code); `poll_hash`: the SHA-256 of the new device's own secret, in its cookie.
//! - `number`, `choices`: the two-digit number the new device shows, and the three the
//!   approving device offers (the right one among them).
//! - `email`, `approved_at`: set once a signed-in device approves; the new device's next poll
//!   then starts its session and deletes the row.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthDeviceRequest {
    Table,
    Id,
    CodeHash,
    PollHash,
    Number,
    Choices,
    Client,
    UserAgent,
    ClientIp,
    Email,
    ApprovedAt,
    CreatedAt,
    ExpiresAt,
}

const CODE_INDEX: &str = "idx_auth_device_request_code_hash";
const POLL_INDEX: &str = "idx_auth_device_request_poll_hash";
const CLIENT_INDEX: &str = "idx_auth_device_request_client";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuthDeviceRequest::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuthDeviceRequest::Id))
                    .col(string(AuthDeviceRequest::CodeHash))
                    .col(string(AuthDeviceRequest::PollHash))
                    .col(integer(AuthDeviceRequest::Number))
                    .col(string(AuthDeviceRequest::Choices))
                    .col(string(AuthDeviceRequest::Client))
                    .col(string_null(AuthDeviceRequest::UserAgent))
                    .col(string_null(AuthDeviceRequest::ClientIp))
                    .col(string_null(AuthDeviceRequest::Email))
                    .col(timestamp_with_time_zone_null(AuthDeviceRequest::ApprovedAt))
                    .col(timestamp_with_time_zone(AuthDeviceRequest::CreatedAt))
                    .col(timestamp_with_time_zone(AuthDeviceRequest::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        for (name, column, unique) in [
            (CODE_INDEX, AuthDeviceRequest::CodeHash, true),
            (POLL_INDEX, AuthDeviceRequest::PollHash, true),
            (CLIENT_INDEX, AuthDeviceRequest::Client, false),
        ] {
            let mut index = Index::create();
            index
                .name(name)
                .table(AuthDeviceRequest::Table)
                .col(column)
                .if_not_exists();
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuthDeviceRequest::Table).to_owned())
            .await
    }
}
