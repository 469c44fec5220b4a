pub mod app;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}

/// The server: the app's routes, with sign-in added by one call.
#[cfg(feature = "ssr")]
pub mod server {
    use axum::Router;
    use leptos::prelude::*;
    use leptos_axum::{LeptosRoutes, file_and_error_handler, generate_route_list};
    use leptos_magic_link::{AuthService, MagicLinkRouter};

    use super::app::{App, shell};

    /// Every route of the app, served with `auth`.
    pub fn router(options: LeptosOptions, auth: AuthService) -> Router {
        let routes = generate_route_list(App);
        Router::new()
            .leptos_routes(&options, routes, {
                let options = options.clone();
                move || shell(options.clone())
            })
            .fallback(file_and_error_handler::<LeptosOptions, _>(shell))
            .with_state(options)
            .with_magic_link(auth)
    }
}
