//! The wasm entry point: attaches to the server-rendered HTML instead of re-rendering it.
#![cfg(target_arch = "wasm32")]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Panic messages in the browser console while developing. A release build leaves the hook
    // out (1 to 2 KB brotli); its panics abort with the wasm trap alone.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::app::App);
}
