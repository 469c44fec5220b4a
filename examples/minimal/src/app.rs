use leptos::prelude::*;
use leptos_magic_link::{
    AuthProvider, CheckEmail, LoginForm, LogoutButton, MagicLinkPage, RequireAuth,
    SignOutEverywherePage, paths,
};
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    StaticSegment,
    components::{Route, Router, Routes},
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
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
    let paths = paths::get();
    view! {
        <Stylesheet id="leptos" href="/pkg/minimal-app.css" />
        <Title text="Welcome to Leptos" />
        <Router>
            <AuthProvider>
                <main>
                    <Routes fallback=|| "Page not found.".into_view()>
                        <Route path=StaticSegment("") view=HomePage />
                        <Route path=StaticSegment(paths.segment(&paths.check_email)) view=CheckEmail />
                        <Route path=StaticSegment(paths.segment(&paths.link)) view=MagicLinkPage />
                        <Route
                            path=StaticSegment(paths.segment(&paths.sign_out_everywhere))
                            view=SignOutEverywherePage
                        />
                        <Route path=StaticSegment("private") view=Private />
                    </Routes>
                </main>
            </AuthProvider>
        </Router>
    }
}

#[component]
fn HomePage() -> impl IntoView {
    let count = RwSignal::new(0);
    let on_click = move |_| *count.write() += 1;
    let auth = leptos_magic_link::use_auth();
    view! {
        <h1>"Welcome to Leptos!"</h1>
        <button on:click=on_click>"Click Me: " {count}</button>
        <p><a href="/private">"The private page"</a></p>
        // The login page is `/` (the default `paths.login`): the form, for a signed-out visitor.
        <Show when=move || !auth.session_is_valid.get()>
            <LoginForm />
        </Show>
    }
}

/// Only for signed-in visitors: anyone else is sent to the login page and back here after.
#[component]
fn Private() -> impl IntoView {
    let auth = leptos_magic_link::use_auth();
    view! {
        <RequireAuth>
            <h1>"Private"</h1>
            <p>"Signed in as " {move || auth.auth_session.get().map(|s| s.email.to_string())}</p>
            <LogoutButton />
        </RequireAuth>
    }
}
