//! New-sign-in notices.
//!
//! - `auth_known_device`: the devices (browser and system, plus the network around the
//!   address) each address has signed in from, with when it last did. A sign-in from one it
//!   has not used in 90 days is mailed to the address.
//! - `auth_sign_out_link`: the notices' "sign out everywhere" links, by the SHA-256 of their
//!   token, with when the sign-in they warn of happened; each works once, until it expires.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthKnownDevice {
    Table,
    Id,
    Email,
    Browser,
    Network,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum AuthSignOutLink {
    Table,
    Id,
    TokenHash,
    Email,
    Since,
    CreatedAt,
    ExpiresAt,
}

const KNOWN_DEVICE_INDEX: &str = "idx_auth_known_device_email_browser_network";
const SIGN_OUT_LINK_EXPIRES_INDEX: &str = "idx_auth_sign_out_link_expires";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuthKnownDevice::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuthKnownDevice::Id))
                    .col(string(AuthKnownDevice::Email))
                    .col(string(AuthKnownDevice::Browser))
                    .col(string(AuthKnownDevice::Network))
                    .col(timestamp_with_time_zone(AuthKnownDevice::LastSeenAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(KNOWN_DEVICE_INDEX)
                    .table(AuthKnownDevice::Table)
                    .col(AuthKnownDevice::Email)
                    .col(AuthKnownDevice::Browser)
                    .col(AuthKnownDevice::Network)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuthSignOutLink::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuthSignOutLink::Id))
                    .col(string_uniq(AuthSignOutLink::TokenHash))
                    .col(string(AuthSignOutLink::Email))
                    .col(timestamp_with_time_zone(AuthSignOutLink::Since))
                    .col(timestamp_with_time_zone(AuthSignOutLink::CreatedAt))
                    .col(timestamp_with_time_zone(AuthSignOutLink::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(SIGN_OUT_LINK_EXPIRES_INDEX)
                    .table(AuthSignOutLink::Table)
                    .col(AuthSignOutLink::ExpiresAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuthSignOutLink::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AuthKnownDevice::Table).to_owned())
            .await
    }
}
