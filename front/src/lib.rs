//! The wasm entry point. The pages render on the server; the islands in them (`#[island]`)
//! hydrate alone, each called by the page's loader script once this has run.
#![cfg(target_arch = "wasm32")]

// The islands are exported from the app and the auth crates: linked in, though nothing here
// names them.
extern crate app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Panic messages in the browser console while developing. A release build leaves the hook
    // out (1 to 2 KB brotli); its panics abort with the wasm trap alone.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
