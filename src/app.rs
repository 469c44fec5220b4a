//! The HTML shell, the root component and the route table.

use leptos::prelude::*;
use leptos_meta::{Meta, Title, provide_meta_context};
use leptos_router::{
    SsrMode, StaticSegment,
    components::{Route, Router, Routes},
};

use crate::{
    auth::{
        AuthProvider, ChangeEmailPage, DeviceSignInPage, MagicLinkPage, SignOutEverywherePage,
        paths,
    },
    pages::{
        AccountPage, ApprovePage, CheckEmailPage, DashboardPage, HomePage, NotFound, SiteHeader,
    },
};

/// The site's name, in the page title and the header.
pub const SITE_NAME: &str = "Magic Link Auth";

/// What search engines and link previews say of the site.
pub const SITE_DESCRIPTION: &str =
    "Sign in without a password: enter your email and open the link or type the code we send.";

/// The document around the app, rendered only on the server.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos_meta::MetaTags;
    set_content_security_policy(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <SiteAssets options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Sets the Content-Security-Policy of the page being rendered: scripts only with this
/// response's nonce (which Leptos puts on its own scripts) and what they load, wasm allowed,
/// and no framing. Called from the shell while the page renders.
#[cfg(feature = "ssr")]
fn set_content_security_policy(options: &LeptosOptions) {
    use axum::http::{HeaderValue, header::CONTENT_SECURITY_POLICY};
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    // `cargo leptos watch` reloads the page through a websocket on its own port, at the
    // host the page was loaded from: the public URL's (`localhost` by default), which every
    // request for another host is sent to first.
    let reload = if options.env == leptos::config::Env::DEV {
        let host = leptos_magic_link::auth_service()
            .ok()
            .and_then(|auth| {
                let uri: axum::http::Uri = auth.config().public_url.parse().ok()?;
                uri.host().map(str::to_owned)
            })
            .unwrap_or_else(|| options.site_addr.ip().to_string());
        format!(" ws://{host}:{}", options.reload_port)
    } else {
        String::new()
    };
    let policy = format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{reload}; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    );
    match HeaderValue::from_str(&policy) {
        Ok(value) => response.insert_header(CONTENT_SECURITY_POLICY, value),
        Err(err) => tracing::error!(error = %err, "could not build the Content-Security-Policy"),
    }
}

/// The stylesheet and the scripts that load the wasm and hydrate the page's islands.
///
/// A release binary that carries the site links to its content-hashed files (see
/// `crate::assets`); otherwise the files are served from the site folder under their own
/// names, as `cargo leptos watch` rebuilds them.
#[cfg(feature = "ssr")]
#[component]
fn SiteAssets(options: LeptosOptions) -> impl IntoView {
    use leptos_meta::HashedStylesheet;
    let pkg = format!("/{}/{}", options.site_pkg_dir, options.output_name);
    if crate::assets::embedded() {
        let css = crate::assets::url_of(&format!("{pkg}.css")).to_owned();
        let js = crate::assets::url_of(&format!("{pkg}.js")).to_owned();
        let wasm = crate::assets::url_of(&format!("{pkg}.wasm")).to_owned();
        let nonce = leptos::nonce::use_nonce();
        // `islands.js` loads the wasm, then hydrates each island of the page in document
        // order, as Leptos' own islands script does (leptos/src/hydration/island_script.js),
        // and marks <body> with `data-hydrated` once every island is live: browser tests wait
        // for it before they click. It is called with the content-hashed URLs of the JS and
        // the wasm, and carries no comments, since every page inlines it.
        let load = format!("{}({js:?}, {wasm:?});", include_str!("islands.js"));
        return view! {
            <link id="leptos" rel="stylesheet" href=css />
            <link rel="modulepreload" href=js nonce=nonce.clone() />
            <link rel="preload" href=wasm r#as="fetch" r#type="application/wasm" crossorigin="anonymous" />
            <script type="module" nonce=nonce>{load}</script>
        }
        .into_any();
    }
    view! {
        <HashedStylesheet options=options.clone() id="leptos" />
        <HydrationScripts options islands=true />
    }
    .into_any()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    // The auth pages' paths: fixed by the server's settings, carried to the browser by
    // `<AuthProvider>`.
    let paths = paths::get();
    // Pages wait for the session before the server sends them (`SsrMode::Async`), so the
    // first HTML is already right, with or without JavaScript. In islands mode this all runs
    // on the server only; the browser hydrates the islands inside.
    view! {
        <Title text=SITE_NAME />
        <Meta name="description" content=SITE_DESCRIPTION />
        <Router>
            <AuthProvider>
                <SiteHeader />
                <main class="page">
                    <Routes fallback=NotFound>
                        <Route path=StaticSegment("") view=HomePage ssr=SsrMode::Async />
                        <Route
                            path=StaticSegment("dashboard")
                            view=DashboardPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=StaticSegment(paths.segment(&paths.account))
                            view=AccountPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=StaticSegment(paths.segment(&paths.check_email))
                            view=CheckEmailPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=StaticSegment(paths.segment(&paths.link))
                            view=MagicLinkPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=StaticSegment(paths.segment(&paths.sign_out_everywhere))
                            view=SignOutEverywherePage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=StaticSegment(paths.segment(&paths.change_email))
                            view=ChangeEmailPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=StaticSegment(paths.segment(&paths.device_sign_in))
                            view=DeviceSignInPage
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=StaticSegment(paths.segment(&paths.approve_device))
                            view=ApprovePage
                            ssr=SsrMode::Async
                        />
                    </Routes>
                </main>
            </AuthProvider>
        </Router>
    }
}
