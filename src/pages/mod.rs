//! The demo's own pages.

mod account;
mod approve;
mod check_email;
mod dashboard;
mod header;
mod home;
mod not_found;

pub use account::AccountPage;
pub use approve::ApprovePage;
pub use check_email::CheckEmailPage;
pub use dashboard::{DashboardPage, UserProfile, profile};
pub use header::SiteHeader;
pub use home::HomePage;
pub use not_found::NotFound;
