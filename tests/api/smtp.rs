//! A real SMTP server (mailin-embedded) on 127.0.0.1 that keeps what it receives.

use std::{
    net::TcpListener,
    sync::{Arc, Mutex},
    time::Duration,
};

use mailin_embedded::{Handler, Response, Server, SslConfig, response};

#[derive(Clone, Default)]
struct Collector {
    inbox: Arc<Mutex<Vec<String>>>,
    current: Vec<u8>,
}

impl Handler for Collector {
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = String::from_utf8_lossy(&std::mem::take(&mut self.current)).into_owned();
        self.inbox.lock().unwrap().push(message);
        response::OK
    }
}

/// A listening SMTP server; it runs until the test process ends.
pub struct SmtpServer {
    pub port: u16,
    inbox: Arc<Mutex<Vec<String>>>,
}

impl SmtpServer {
    /// Starts on a free port.
    pub fn start() -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// Starts on `listener` (to bring a server up on a port the app already uses).
    pub fn start_on(listener: TcpListener) -> Self {
        let port = listener.local_addr().unwrap().port();
        let collector = Collector::default();
        let inbox = collector.inbox.clone();
        std::thread::spawn(move || {
            let mut server = Server::new(collector);
            server.with_name("smtp.test").with_ssl(SslConfig::None).unwrap().with_tcp_listener(listener);
            server.serve().unwrap();
        });
        Self { port, inbox }
    }

    /// A free port with nothing listening on it (an SMTP server that is down).
    pub fn unused_port() -> u16 {
        TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    /// The `SMTP_URL` for this server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, raw, decoded from quoted-printable.
    pub fn messages(&self) -> Vec<String> {
        self.inbox.lock().unwrap().iter().map(|m| decode_quoted_printable(m)).collect()
    }

    /// Waits (up to 10 s) until at least `count` messages arrived, and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<String> {
        for _ in 0..200 {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} emails, got {}", self.messages().len())
    }
}

/// Undoes quoted-printable soft breaks and `=3D`, which is all our ASCII mail needs.
fn decode_quoted_printable(raw: &str) -> String {
    raw.replace("=\r\n", "").replace("=3D", "=")
}

/// The token of the first link to `page` (`reset-password`, `verify-email`) in `message`.
pub fn link_token(message: &str, page: &str) -> String {
    let marker = format!("/{page}?token=");
    let start =
        message.find(&marker).unwrap_or_else(|| panic!("no {page} link in:\n{message}")) + marker.len();
    message[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

/// The messages addressed to `address`.
pub fn to(messages: &[String], address: &str) -> Vec<String> {
    messages.iter().filter(|m| m.contains(&format!("To: {address}"))).cloned().collect()
}
