//! The path of the page a magic link opens (`MAGIC_LINK_AUTH_ROUTE`).
//!
//! The route table is built from types, so the configured path is fixed once at start: the
//! server sets it from its settings before building routes, and writes it into the page; the
//! browser reads it back from there before hydrating, so both sides route alike.

use std::sync::OnceLock;

pub const DEFAULT: &str = "/magic-link-auth";

/// The name of the `<meta>` element that carries the route to the browser.
pub const META_NAME: &str = "magic-link-route";

static ROUTE: OnceLock<&'static str> = OnceLock::new();

/// Fixes the route for this process. Only the first call counts.
pub fn set(route: &str) {
    let _ = ROUTE.set(Box::leak(route.to_owned().into_boxed_str()));
}

/// The route, such as `/magic-link-auth`.
pub fn get() -> &'static str {
    ROUTE.get().copied().unwrap_or(DEFAULT)
}

/// The route without its leading `/`, as the router's path segment.
pub fn segment() -> &'static str {
    get().trim_start_matches('/')
}

/// Reads the route the server wrote into the page.
#[cfg(feature = "hydrate")]
pub fn load_from_document() {
    let content = leptos::prelude::document()
        .query_selector(&format!("meta[name=\"{META_NAME}\"]"))
        .ok()
        .flatten()
        .and_then(|meta| meta.get_attribute("content"));
    if let Some(route) = content {
        set(&route);
    }
}
