//! Latency of the auth store's two hot operations, on SQLite and on PostgreSQL.
//!
//! Run with `make bench` (or `cargo bench -p magic-link-core`) (PostgreSQL is included when `TEST_DATABASE_URL` is set).
//! Prints a markdown table of p50 and p99 over many sequential calls, plus the argon2id hash
//! time on its own, which dominates `issue`. `issue` with its message queued is measured
//! interleaved with the plain one: the difference is what the outbox row costs a request.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use magic_link_core::{
    client::ClientKey,
    clock::{Clock, SystemClock},
    domain::{Code, Email},
    secrets::CodeHasher,
    store::{AuthStore, Device, Policy, SignInMail},
    testing::TestDb,
};

const ROUNDS: usize = 300;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let rank = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[rank.min(samples.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn bench(name: &str, db: &TestDb) -> Vec<String> {
    let store = AuthStore::new(
        db.db.clone(),
        CodeHasher::per_core(256).unwrap(),
        Policy {
            credential_lifetime: Duration::from_secs(1800),
            session_lifetime: Duration::from_secs(3600),
            rate_limit: u32::MAX,
            email_rate_limit: u32::MAX,
            code_max_attempts: 5,
            code_daily_limit: 10,
            mail_deadline: Duration::from_secs(90),
            allowed_emails: None,
            activity_retention: Duration::from_secs(90 * 24 * 3600),
        },
    );
    let clock = SystemClock;
    let mut issue = Vec::with_capacity(ROUNDS);
    let mut queued = Vec::with_capacity(ROUNDS);
    let mut redeem = Vec::with_capacity(ROUNDS);
    for n in 0..ROUNDS {
        let email = Email::parse(&format!("bench{n}@example.com")).unwrap();
        let client = ClientKey::of(IpAddr::from([10, 0, (n / 256) as u8, (n % 256) as u8]), 64);
        // Interleaved with the plain issue, so both see the same machine: the credential with
        // its sign-in message written to the outbox in the same transaction, as a request does.
        let mail = SignInMail {
            redir: "/",
            user_agent: None,
            supersedes: None,
        };
        let started = Instant::now();
        store
            .issue_and_queue(&email, &client, clock.now(), Some(mail))
            .await
            .unwrap();
        queued.push(started.elapsed());
        let started = Instant::now();
        let issued = store.issue(&email, &client, clock.now()).await.unwrap();
        issue.push(started.elapsed());
        let started = Instant::now();
        store
            .redeem_link(&issued.token, &client, &Device::default(), clock.now())
            .await
            .unwrap();
        redeem.push(started.elapsed());
    }
    vec![
        format!(
            "| {name} | issue | {} | {} |",
            ms(percentile(&mut issue, 0.5)),
            ms(percentile(&mut issue, 0.99))
        ),
        format!(
            "| {name} | issue, its message queued in the outbox | {} | {} |",
            ms(percentile(&mut queued, 0.5)),
            ms(percentile(&mut queued, 0.99))
        ),
        format!(
            "| {name} | redeem (link) | {} | {} |",
            ms(percentile(&mut redeem, 0.5)),
            ms(percentile(&mut redeem, 0.99))
        ),
    ]
}

#[tokio::main]
async fn main() {
    let hasher = CodeHasher::new(1, 1).unwrap();
    let code = Code::parse("123456").unwrap();
    let mut hashes: Vec<Duration> = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        hasher.hash(&code).await.unwrap();
        hashes.push(started.elapsed());
    }

    let mut rows = Vec::new();
    let sqlite = TestDb::sqlite().await;
    rows.extend(bench("SQLite", &sqlite).await);
    sqlite.finish().await;
    if let Some(postgres) = TestDb::postgres().await {
        rows.extend(bench("PostgreSQL", &postgres).await);
        postgres.finish().await;
    }

    println!("\n{ROUNDS} sequential calls each, release build\n");
    println!("| database | operation | p50 | p99 |");
    println!("| --- | --- | --- | --- |");
    for row in rows {
        println!("{row}");
    }
    println!(
        "| — | argon2id hash (m=19 MiB, t=2, p=1) | {} | {} |",
        ms(percentile(&mut hashes, 0.5)),
        ms(percentile(&mut hashes, 0.99))
    );
}
