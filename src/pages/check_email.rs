use leptos::prelude::*;

use crate::auth::CheckEmail;

/// `/check-your-email`: the library's page that waits for the link and takes the code.
#[component]
pub fn CheckEmailPage() -> impl IntoView {
    view! { <CheckEmail /> }
}
