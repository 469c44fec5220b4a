//! The values magic-link sign-in shares between the server and the browser, each parsed once
//! and valid from then on: [`Email`](domain::Email), [`RedirectTarget`](domain::RedirectTarget),
//! the credentials, the auth pages' [`paths`], and the [`replies`] of the HTTP API. No
//! database, no web framework: the wasm bundle builds it as it is.

pub mod domain;
pub mod paths;
pub mod replies;
