use leptos::prelude::*;

use crate::auth::{ApproveDevicePage, RequireAuth};

/// `/approve?code=…`: where another device's QR code lands; a signed-out visitor signs in
/// first and comes back here.
#[component]
pub fn ApprovePage() -> impl IntoView {
    view! {
        <RequireAuth>
            <ApproveDevicePage />
        </RequireAuth>
    }
}
