//! The auth tables, as sea-orm migrations an app's own migrator includes.
//!
//! The names are stable: a database that applied them under an earlier layout of this
//! project sees them as applied. sea-orm checks migrations by name, not by position, so the
//! app may list its own before or after these.
//!
//! ```
//! use sea_orm_migration::prelude::*;
//!
//! pub struct Migrator;
//!
//! #[async_trait::async_trait]
//! impl MigratorTrait for Migrator {
//!     fn migrations() -> Vec<Box<dyn MigrationTrait>> {
//!         let mut all = magic_link_core::migrations::all();
//!         // The app's own migrations follow, e.g. `all.push(Box::new(m0001_users::Migration));`
//!         all
//!     }
//! }
//! ```

use sea_orm_migration::MigrationTrait;

mod m20261125_000001_create_auth_tables;
mod m20261125_000002_create_auth_failure;
mod m20261125_000004_add_session_device;
mod m20261125_000005_limits_per_requester;
mod m20261126_000006_create_passkeys;
mod m20261126_000007_session_authenticated_at;
mod m20261126_000008_create_notices;
mod m20261126_000009_create_events;
mod m20261127_000010_challenge_session;
mod m20261206_000011_create_outbox;
mod m20261206_000012_create_accounts;
mod m20261206_000013_create_device_requests;

/// Every auth migration, oldest first.
pub fn all() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(m20261125_000001_create_auth_tables::Migration),
        Box::new(m20261125_000002_create_auth_failure::Migration),
        Box::new(m20261125_000004_add_session_device::Migration),
        Box::new(m20261125_000005_limits_per_requester::Migration),
        Box::new(m20261126_000006_create_passkeys::Migration),
        Box::new(m20261126_000007_session_authenticated_at::Migration),
        Box::new(m20261126_000008_create_notices::Migration),
        Box::new(m20261126_000009_create_events::Migration),
        Box::new(m20261127_000010_challenge_session::Migration),
        Box::new(m20261206_000011_create_outbox::Migration),
        Box::new(m20261206_000012_create_accounts::Migration),
        Box::new(m20261206_000013_create_device_requests::Migration),
    ]
}

/// Brings the auth tables up to date on `db`, for an app with no tables of its own. An app
/// with its own migrator lists [`all`] in it instead.
pub async fn up(
    db: &sea_orm_migration::sea_orm::DatabaseConnection,
) -> Result<(), sea_orm_migration::sea_orm::DbErr> {
    use sea_orm_migration::MigratorTrait;
    Migrator::up(db, None).await
}

/// A migrator holding only the auth tables, for an app with no tables of its own (and for
/// this crate's tests).
pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl sea_orm_migration::MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        all()
    }
}
