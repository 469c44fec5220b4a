//! Where each session was started: the browser's user agent and the client address, recorded
//! at sign-in for the sessions page. Both may be absent (sessions from before this migration).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthSession {
    Table,
    UserAgent,
    ClientIp,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in [AuthSession::UserAgent, AuthSession::ClientIp] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuthSession::Table)
                        .add_column(string_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [AuthSession::ClientIp, AuthSession::UserAgent] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuthSession::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
