//! A real SMTP server for tests: it speaks enough of RFC 5321 (EHLO, AUTH PLAIN, MAIL, RCPT,
//! DATA, RSET, NOOP, QUIT) for a client to deliver, and records every message it accepts.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use base64::{Engine, engine::general_purpose::STANDARD};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

/// One accepted message, as the client sent it.
#[derive(Clone, Debug, Default)]
pub struct Received {
    /// The decoded AUTH PLAIN identity: `\0user\0password`.
    pub auth: Option<String>,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message text, dot-unstuffed, CRLF line ends kept.
    pub data: String,
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
    reject_recipients: Arc<AtomicBool>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let reject_recipients = Arc::new(AtomicBool::new(false));
        let (log, reject) = (received.clone(), reject_recipients.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, log.clone(), reject.clone()));
            }
        });
        Self {
            addr,
            received,
            reject_recipients,
        }
    }

    /// From now on, every RCPT TO is refused with 550, quoting the address.
    pub fn reject_recipients(&self, reject: bool) {
        self.reject_recipients.store(reject, Ordering::SeqCst);
    }
}

async fn session(stream: TcpStream, log: Arc<Mutex<Vec<Received>>>, reject: Arc<AtomicBool>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut reply = async |text: &str| write.write_all(text.as_bytes()).await.is_ok();
    if !reply("220 sink.test ESMTP ready\r\n").await {
        return;
    }
    let mut current = Received::default();
    let mut auth = None;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let answer = if upper.starts_with("EHLO") {
            "250-sink.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n".to_owned()
        } else if upper.starts_with("HELO") || upper == "NOOP" {
            "250 OK\r\n".to_owned()
        } else if let Some(encoded) = command.strip_prefix("AUTH PLAIN ") {
            auth = Some(String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap());
            "235 2.7.0 Authentication successful\r\n".to_owned()
        } else if upper.starts_with("MAIL FROM:") {
            current = Received {
                auth: auth.clone(),
                mail_from: command[10..].trim().to_owned(),
                ..Received::default()
            };
            "250 2.1.0 OK\r\n".to_owned()
        } else if upper.starts_with("RCPT TO:") {
            if reject.load(Ordering::SeqCst) {
                // As Postfix says it: the refusal quotes the address.
                format!(
                    "550 5.1.1 {}: Recipient address rejected: User unknown\r\n",
                    command[8..].trim()
                )
            } else {
                current.rcpt_to.push(command[8..].trim().to_owned());
                "250 2.1.5 OK\r\n".to_owned()
            }
        } else if upper == "DATA" {
            if !reply("354 End data with <CR><LF>.<CR><LF>\r\n").await {
                return;
            }
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            current.data = data;
            log.lock().unwrap().push(std::mem::take(&mut current));
            "250 2.0.0 Queued\r\n".to_owned()
        } else if upper == "RSET" {
            current = Received::default();
            "250 OK\r\n".to_owned()
        } else if upper == "QUIT" {
            let _ = reply("221 2.0.0 Bye\r\n").await;
            return;
        } else {
            "502 5.5.2 Command not recognised\r\n".to_owned()
        };
        if !reply(&answer).await {
            return;
        }
    }
}
