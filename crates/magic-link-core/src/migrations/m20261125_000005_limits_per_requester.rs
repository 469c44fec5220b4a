//! Limits per requester rather than per address, so nobody can lock a person out:
//! - credentials and failed attempts are keyed by `client` (an IPv4 address, or the IPv6
//!   network a client holds), renamed from `client_ip`;
//! - a credential records whether its email went out (`delivery`), because mail is now sent
//!   off the request path;
//! - a failed attempt may name the address whose code was guessed (`email`), for the
//!   per-address daily cap on wrong codes;
//! - `auth_known_client` remembers which clients an address signed in from, so their own
//!   requests are never refused by the per-address cap that strangers can use up.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthCredential {
    Table,
    ClientIp,
    Client,
    Delivery,
}

#[derive(DeriveIden)]
enum AuthFailure {
    Table,
    ClientIp,
    Client,
    Email,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuthKnownClient {
    Table,
    Id,
    Email,
    Client,
    LastSeenAt,
}

const FAILURE_EMAIL_INDEX: &str = "idx_auth_failure_email_created";
const KNOWN_CLIENT_INDEX: &str = "idx_auth_known_client_email_client";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One change per statement: SQLite alters one thing at a time.
        let alters = [
            Table::alter()
                .table(AuthCredential::Table)
                .rename_column(AuthCredential::ClientIp, AuthCredential::Client)
                .to_owned(),
            // Credentials issued before this migration were mailed on the request path.
            Table::alter()
                .table(AuthCredential::Table)
                .add_column(string_len(AuthCredential::Delivery, 16).default("sent"))
                .to_owned(),
            Table::alter()
                .table(AuthFailure::Table)
                .rename_column(AuthFailure::ClientIp, AuthFailure::Client)
                .to_owned(),
            Table::alter()
                .table(AuthFailure::Table)
                .add_column(string_null(AuthFailure::Email))
                .to_owned(),
        ];
        for alter in alters {
            manager.alter_table(alter).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(FAILURE_EMAIL_INDEX)
                    .table(AuthFailure::Table)
                    .col(AuthFailure::Email)
                    .col(AuthFailure::CreatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuthKnownClient::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuthKnownClient::Id))
                    .col(string(AuthKnownClient::Email))
                    .col(string(AuthKnownClient::Client))
                    .col(timestamp_with_time_zone(AuthKnownClient::LastSeenAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(KNOWN_CLIENT_INDEX)
                    .table(AuthKnownClient::Table)
                    .col(AuthKnownClient::Email)
                    .col(AuthKnownClient::Client)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(AuthKnownClient::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(FAILURE_EMAIL_INDEX)
                    .table(AuthFailure::Table)
                    .to_owned(),
            )
            .await?;
        let alters = [
            Table::alter()
                .table(AuthFailure::Table)
                .drop_column(AuthFailure::Email)
                .to_owned(),
            Table::alter()
                .table(AuthFailure::Table)
                .rename_column(AuthFailure::Client, AuthFailure::ClientIp)
                .to_owned(),
            Table::alter()
                .table(AuthCredential::Table)
                .drop_column(AuthCredential::Delivery)
                .to_owned(),
            Table::alter()
                .table(AuthCredential::Table)
                .rename_column(AuthCredential::Client, AuthCredential::ClientIp)
                .to_owned(),
        ];
        for alter in alters {
            manager.alter_table(alter).await?;
        }
        Ok(())
    }
}
