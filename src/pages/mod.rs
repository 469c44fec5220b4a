//! The demo's own pages.

mod check_email;
mod home;
mod not_found;

pub use check_email::CheckEmailPage;
pub use home::HomePage;
pub use not_found::NotFound;
