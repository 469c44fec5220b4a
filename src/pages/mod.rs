//! The demo's own pages.

mod account;
mod check_email;
mod home;
mod not_found;

pub use account::AccountPage;
pub use check_email::CheckEmailPage;
pub use home::HomePage;
pub use not_found::NotFound;
