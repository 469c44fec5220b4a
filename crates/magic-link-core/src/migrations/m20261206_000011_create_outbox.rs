//! The mail outbox: every message waiting to go out, written in the same transaction as the
//! credential, notice link or deletion it belongs to, and sent by whichever instance claims
//! it first.
//!
//! - `message`: what the message says beyond its secrets (JSON: the kind, and for a sign-in
//!   its `redir`, the requesting browser and the expiry); composed from the templates only
//!   when it is sent.
//! - `token`, `code`: the secrets the message carries (a sign-in link's token and its code, a
//!   notice's "sign out everywhere" token). They exist nowhere else in clear, and the row is
//!   deleted as soon as the message is sent or dead.
//! - `next_attempt_at`: when an instance may claim it next: at once for a new row, after a
//!   pause for one whose provider failed, after a lease for one being sent (an instance
//!   that dies mid-send leaves its lease to run out).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthOutbox {
    Table,
    Id,
    Email,
    Message,
    Token,
    Code,
    Credential,
    Supersedes,
    Attempts,
    CreatedAt,
    NextAttemptAt,
}

const DUE_INDEX: &str = "idx_auth_outbox_next_attempt_at";
const EMAIL_INDEX: &str = "idx_auth_outbox_email";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuthOutbox::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuthOutbox::Id))
                    .col(string(AuthOutbox::Email))
                    .col(text(AuthOutbox::Message))
                    .col(string_null(AuthOutbox::Token))
                    .col(string_null(AuthOutbox::Code))
                    .col(big_integer_null(AuthOutbox::Credential))
                    .col(string_null(AuthOutbox::Supersedes))
                    .col(integer(AuthOutbox::Attempts))
                    .col(timestamp_with_time_zone(AuthOutbox::CreatedAt))
                    .col(timestamp_with_time_zone(AuthOutbox::NextAttemptAt))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            (DUE_INDEX, AuthOutbox::NextAttemptAt),
            (EMAIL_INDEX, AuthOutbox::Email),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuthOutbox::Table)
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
            .drop_table(Table::drop().table(AuthOutbox::Table).to_owned())
            .await
    }
}
