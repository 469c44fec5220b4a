//! The two tables behind magic-link sign-in: outstanding credentials and sessions.
//!
//! Secrets are never stored: a link token and a session token appear only as their SHA-256,
//! and a typed code only as an argon2id hash.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthCredential {
    Table,
    Id,
    Email,
    TokenHash,
    CodeHash,
    ClientIp,
    Attempts,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum AuthSession {
    Table,
    Id,
    TokenHash,
    Email,
    PersistentId,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuthCredential::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuthCredential::Id))
                    .col(string(AuthCredential::Email))
                    .col(string_uniq(AuthCredential::TokenHash))
                    .col(string(AuthCredential::CodeHash))
                    .col(string(AuthCredential::ClientIp))
                    .col(integer(AuthCredential::Attempts).default(0))
                    .col(timestamp_with_time_zone(AuthCredential::CreatedAt))
                    .col(timestamp_with_time_zone(AuthCredential::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        // The rate limits count recent rows per email and per client IP.
        for (name, column) in [
            ("idx_auth_credential_email_created", AuthCredential::Email),
            ("idx_auth_credential_ip_created", AuthCredential::ClientIp),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuthCredential::Table)
                        .col(column)
                        .col(AuthCredential::CreatedAt)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(AuthSession::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuthSession::Id))
                    .col(string_uniq(AuthSession::TokenHash))
                    .col(string(AuthSession::Email))
                    .col(string(AuthSession::PersistentId))
                    .col(timestamp_with_time_zone(AuthSession::CreatedAt))
                    .col(timestamp_with_time_zone(AuthSession::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_auth_session_email", AuthSession::Email),
            ("idx_auth_session_persistent_id", AuthSession::PersistentId),
            ("idx_auth_session_expires", AuthSession::ExpiresAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuthSession::Table)
                        .col(column)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(AuthSession::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(AuthCredential::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
