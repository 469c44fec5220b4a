//! The HTML shell, the root component and the route table.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    StaticSegment,
    components::{Route, Router, Routes},
};

use crate::pages::{HomePage, NotFound};

/// The document around the app, rendered only on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    mark_body_hydrated();

    view! {
        <Stylesheet id="leptos" href="/pkg/magic-link-auth.css" />
        <Title text="Magic Link Auth" />
        <Router>
            <main class="page">
                <Routes fallback=NotFound>
                    <Route path=StaticSegment("") view=HomePage />
                </Routes>
            </main>
        </Router>
    }
}

/// Sets `data-hydrated` on `<body>` once the wasm has taken over the page.
///
/// Effects run only in the browser, so the attribute never appears in server-rendered
/// HTML. Browser tests wait for it before they interact: a click that lands before
/// hydration hits a button with no handler yet.
fn mark_body_hydrated() {
    Effect::new(|_| {
        if let Some(body) = document().body() {
            // Setting an attribute on <body> cannot fail for a valid name.
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
