//! The browser's half of passkeys: asking `navigator.credentials` with the server's options,
//! and handing its answer back as JSON (the `passkeys` feature).
//!
//! The options and answers travel as the WebAuthn JSON forms, converted by the browser's own
//! `PublicKeyCredential.parseCreationOptionsFromJSON`, `parseRequestOptionsFromJSON` and
//! `toJSON`. Everything is called from the wasm, so the page needs no script of its own and
//! the Content-Security-Policy stays as it is. A browser without those methods is treated
//! as one without WebAuthn: the passkey buttons stay hidden and the email link remains.
//!
//! On the server these do nothing: the components only call them from event handlers and
//! effects, which run in the browser.

#[cfg(feature = "hydrate")]
mod browser {
    use js_sys::{Array, Function, JSON, Object, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    fn get(target: &JsValue, key: &str) -> Option<JsValue> {
        Reflect::get(target, &JsValue::from_str(key))
            .ok()
            .filter(|value| !value.is_undefined() && !value.is_null())
    }

    fn public_key_credential() -> Option<JsValue> {
        get(&js_sys::global(), "PublicKeyCredential")
    }

    /// Calls `target[method](args…)`.
    fn call(target: &JsValue, method: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
        let function: Function = get(target, method)
            .ok_or_else(|| JsValue::from_str(method))?
            .dyn_into()?;
        let list = Array::new();
        for arg in args {
            list.push(arg);
        }
        function.apply(target, &list)
    }

    async fn call_async(
        target: &JsValue,
        method: &str,
        args: &[&JsValue],
    ) -> Result<JsValue, JsValue> {
        let promise: Promise = call(target, method, args)?.dyn_into()?;
        JsFuture::from(promise).await
    }

    pub fn supported() -> bool {
        public_key_credential().is_some_and(|pkc| {
            get(&pkc, "parseCreationOptionsFromJSON").is_some()
                && get(&pkc, "parseRequestOptionsFromJSON").is_some()
        }) && credentials().is_some()
    }

    fn credentials() -> Option<JsValue> {
        get(&js_sys::global(), "navigator").and_then(|navigator| get(&navigator, "credentials"))
    }

    pub async fn conditional_available() -> bool {
        let Some(pkc) = public_key_credential() else {
            return false;
        };
        call_async(&pkc, "isConditionalMediationAvailable", &[])
            .await
            .is_ok_and(|available| available.as_bool() == Some(true))
    }

    /// What a person reads when the browser did not answer.
    fn explain(err: &JsValue) -> String {
        let name = get(err, "name").and_then(|name| name.as_string());
        match name.as_deref() {
            Some("NotAllowedError") => "The passkey prompt was closed or timed out.".to_owned(),
            Some("InvalidStateError") => {
                "This device already holds a passkey for this account.".to_owned()
            }
            Some("AbortError") => String::new(),
            _ => "This browser could not use a passkey.".to_owned(),
        }
    }

    /// The `publicKey` member of the server's options, parsed by the browser with `parser`.
    fn parse_options(options: &str, parser: &str) -> Result<JsValue, JsValue> {
        let options = JSON::parse(options)?;
        let public_key =
            get(&options, "publicKey").ok_or_else(|| JsValue::from_str("publicKey"))?;
        let pkc =
            public_key_credential().ok_or_else(|| JsValue::from_str("PublicKeyCredential"))?;
        call(&pkc, parser, &[&public_key])
    }

    fn answer_json(credential: &JsValue) -> Result<String, JsValue> {
        let json = call(credential, "toJSON", &[])?;
        JSON::stringify(&json)?
            .as_string()
            .ok_or_else(|| JsValue::from_str("toJSON"))
    }

    pub async fn create(options: &str) -> Result<String, String> {
        let run = async {
            let public_key = parse_options(options, "parseCreationOptionsFromJSON")?;
            let request = Object::new();
            Reflect::set(&request, &"publicKey".into(), &public_key)?;
            let container = credentials().ok_or_else(|| JsValue::from_str("credentials"))?;
            let credential = call_async(&container, "create", &[&request]).await?;
            answer_json(&credential)
        };
        run.await.map_err(|err| explain(&err))
    }

    pub async fn get_assertion(options: &str, signal: Option<&JsValue>) -> Result<String, String> {
        let run = async {
            let public_key = parse_options(options, "parseRequestOptionsFromJSON")?;
            let request = Object::new();
            Reflect::set(&request, &"publicKey".into(), &public_key)?;
            if let Some(signal) = signal {
                Reflect::set(&request, &"mediation".into(), &"conditional".into())?;
                Reflect::set(&request, &"signal".into(), signal)?;
            }
            let container = credentials().ok_or_else(|| JsValue::from_str("credentials"))?;
            let credential = call_async(&container, "get", &[&request]).await?;
            answer_json(&credential)
        };
        run.await.map_err(|err| explain(&err))
    }

    /// A new `AbortController`, for a conditional request a button press must cancel.
    pub fn abort_controller() -> Option<JsValue> {
        let constructor: Function = get(&js_sys::global(), "AbortController")?.dyn_into().ok()?;
        Reflect::construct(&constructor, &Array::new()).ok()
    }

    pub fn signal_of(controller: &JsValue) -> Option<JsValue> {
        get(controller, "signal")
    }

    pub fn abort(controller: &JsValue) {
        let _ = call(controller, "abort", &[]);
    }
}

#[cfg(feature = "hydrate")]
pub(crate) use browser::*;

#[cfg(not(feature = "hydrate"))]
mod server {
    //! The same calls, answering "no WebAuthn here": never reached on the server.
    pub fn supported() -> bool {
        false
    }
    pub async fn create(_options: &str) -> Result<String, String> {
        Err(String::new())
    }
    pub async fn get_assertion(_options: &str, _signal: Option<&()>) -> Result<String, String> {
        Err(String::new())
    }
}

#[cfg(not(feature = "hydrate"))]
pub(crate) use server::*;
