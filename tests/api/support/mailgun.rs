//! A real HTTP server in Mailgun's place: it records every request and answers as told.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderMap, Method, StatusCode},
    routing::any,
};

#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    Accept,
    Fail,
    Hang,
    /// Accepts, after this long.
    Delay(Duration),
    /// Accepts once [`FakeMailgun::release`] lets a message through.
    Held,
}

#[derive(Debug, Clone)]
pub struct Captured {
    pub method: Method,
    pub domain: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub form: Vec<(String, String)>,
}

pub type Log = Arc<Mutex<Vec<Captured>>>;

pub struct FakeMailgun {
    pub url: String,
    pub log: Log,
    behaviour: Arc<Mutex<Behaviour>>,
    gate: Arc<tokio::sync::Semaphore>,
}

type Shared = (Arc<Mutex<Behaviour>>, Log, Arc<tokio::sync::Semaphore>);

async fn messages(
    State((behaviour, log, gate)): State<Shared>,
    Path(domain): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, &'static str) {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    log.lock().unwrap().push(Captured {
        method,
        domain,
        authorization: header("authorization"),
        content_type: header("content-type"),
        form: serde_urlencoded::from_str(&body).unwrap(),
    });
    let now = *behaviour.lock().unwrap();
    match now {
        Behaviour::Accept => (StatusCode::OK, r#"{"message":"Queued. Thank you."}"#),
        Behaviour::Fail => (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded"),
        Behaviour::Delay(delay) => {
            tokio::time::sleep(delay).await;
            (StatusCode::OK, r#"{"message":"Queued. Thank you."}"#)
        }
        Behaviour::Held => {
            gate.acquire().await.unwrap().forget();
            (StatusCode::OK, r#"{"message":"Queued. Thank you."}"#)
        }
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            (StatusCode::OK, "too late")
        }
    }
}

impl FakeMailgun {
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, behaviour)
    }

    /// The fake on `listener`, for a test that first leaves the port closed.
    pub fn start_on(listener: tokio::net::TcpListener, behaviour: Behaviour) -> Self {
        let behaviour = Arc::new(Mutex::new(behaviour));
        let log = Log::default();
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let app = Router::new()
            .route("/v3/{domain}/messages", any(messages))
            .with_state((behaviour.clone(), log.clone(), gate.clone()));
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            log,
            behaviour,
            gate,
        }
    }

    /// Lets `n` held messages through.
    pub fn release(&self, n: usize) {
        self.gate.add_permits(n);
    }

    /// The link in the `n`th message received.
    pub fn link(&self, n: usize) -> String {
        let log = self.log.lock().unwrap();
        let text = &log[n].form.iter().find(|(k, _)| k == "text").unwrap().1;
        text.lines()
            .find(|l| l.starts_with("http://"))
            .unwrap()
            .to_owned()
    }

    /// Changes how the following requests are answered.
    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }
}
