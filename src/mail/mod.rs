//! Email: letters composed from template files, queued as jobs in the transaction that causes
//! them, and delivered by the work queue through lettre (SMTP, or `.eml` files).

pub mod delivery;

pub use delivery::{Delivery, KIND};

use std::time::Duration;

use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};
use minijinja::{Environment, context};
use secrecy::ExposeSecret;

use crate::{
    config::{ConfigError, Settings},
    error::{Error, Result},
};

/// A letter to compose: which template, and what it needs.
pub enum Letter<'a> {
    /// A password reset link.
    PasswordReset {
        /// The customer's name.
        name: &'a str,
        /// The one-time token for the link.
        token: &'a str,
    },
    /// An email verification link.
    VerifyEmail {
        /// The customer's name.
        name: &'a str,
        /// The one-time token for the link.
        token: &'a str,
    },
    /// A notice to the old address that the account's email changed.
    EmailChanged {
        /// The customer's name.
        name: &'a str,
        /// The address the account uses from now on.
        new_email: &'a str,
    },
    /// A confirmation to the old address that the account was deleted.
    AccountDeleted {
        /// The customer's name (the last time it is known).
        name: &'a str,
    },
}

/// A rendered email, ready for the queue.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Composed {
    /// Recipient address.
    #[serde(rename = "to")]
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// The local part of its `Message-ID`, fixed when it is queued, so that every attempt to
    /// send it carries the same one and a receiver can drop a repeat.
    pub message_id: String,
}

impl Composed {
    /// The job payload that carries it.
    pub fn payload(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The subject of the letter a job's stored `payload` carries (empty when it carries none).
    pub fn subject_of(payload: &str) -> String {
        serde_json::from_str::<Composed>(payload).map(|letter| letter.subject).unwrap_or_default()
    }
}

/// Where delivered mail goes.
pub enum Transport {
    /// An SMTP server (`SMTP_URL`).
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `.eml` file a message in `MAIL_DIR`: the default, so development needs no mail server.
    Folder(AsyncFileTransport<Tokio1Executor>),
}

/// Templates, sender, transport, and the bell that wakes the delivery worker.
pub struct Mailer {
    templates: Environment<'static>,
    transport: Transport,
    from: Mailbox,
    shop_name: String,
    public_url: String,
    reset_ttl: Duration,
    verification_ttl: Duration,
    send_timeout: Duration,
}

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The server refused it for good (a 5xx reply), or it cannot be built: retrying cannot help.
    #[error("permanent: {0}")]
    Permanent(String),
    /// A 4xx reply, no connection, or no answer in time: worth another try later.
    #[error("temporary: {0}")]
    Temporary(String),
}

impl From<lettre::transport::smtp::Error> for DeliveryError {
    fn from(err: lettre::transport::smtp::Error) -> Self {
        if err.is_permanent() { Self::Permanent(err.to_string()) } else { Self::Temporary(err.to_string()) }
    }
}

const TEMPLATES: &[(&str, &str)] = &[
    ("password_reset.subject.txt", include_str!("templates/password_reset.subject.txt")),
    ("password_reset.txt", include_str!("templates/password_reset.txt")),
    ("password_reset.html", include_str!("templates/password_reset.html")),
    ("verify_email.subject.txt", include_str!("templates/verify_email.subject.txt")),
    ("verify_email.txt", include_str!("templates/verify_email.txt")),
    ("verify_email.html", include_str!("templates/verify_email.html")),
    ("email_changed.subject.txt", include_str!("templates/email_changed.subject.txt")),
    ("email_changed.txt", include_str!("templates/email_changed.txt")),
    ("email_changed.html", include_str!("templates/email_changed.html")),
    ("account_deleted.subject.txt", include_str!("templates/account_deleted.subject.txt")),
    ("account_deleted.txt", include_str!("templates/account_deleted.txt")),
    ("account_deleted.html", include_str!("templates/account_deleted.html")),
];

impl Mailer {
    /// Loads the templates and opens the configured transport.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let mut templates = Environment::new();
        for (name, source) in TEMPLATES {
            // `.html` templates auto-escape: a customer's name cannot inject markup.
            templates.add_template(name, source)?;
        }
        let transport = match &settings.mail.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| ConfigError::new("SMTP_URL", e.to_string()))?
                    .timeout(Some(Duration::from_secs(10)))
                    .build(),
            ),
            None => {
                let dir = settings.mail_dir();
                std::fs::create_dir_all(&dir)
                    .map_err(|e| ConfigError::new("MAIL_DIR", format!("{}: {e}", dir.display())))?;
                Transport::Folder(AsyncFileTransport::new(dir))
            }
        };
        Ok(Self {
            templates,
            transport,
            from: settings.mail.from.parse().map_err(|e| ConfigError::new("MAIL_FROM", format!("{e}")))?,
            shop_name: settings.mail.shop_name.clone(),
            public_url: settings.public_url(),
            reset_ttl: Duration::from_secs(settings.mail.reset_token_ttl_seconds),
            verification_ttl: Duration::from_secs(settings.mail.verification_token_ttl_seconds),
            send_timeout: Duration::from_secs(settings.mail.send_timeout_seconds),
        })
    }

    /// Renders `letter` for `recipient`.
    pub fn compose(&self, recipient: &str, letter: &Letter<'_>) -> Result<Composed> {
        let (template, values) = match letter {
            Letter::PasswordReset { name, token } => (
                "password_reset",
                context! {
                    name, shop_name => self.shop_name,
                    link => self.link("reset-password", token),
                    valid_minutes => self.reset_ttl.as_secs().div_ceil(60),
                },
            ),
            Letter::VerifyEmail { name, token } => (
                "verify_email",
                context! {
                    name, shop_name => self.shop_name,
                    link => self.link("verify-email", token),
                    valid_hours => self.verification_ttl.as_secs().div_ceil(3600),
                },
            ),
            Letter::EmailChanged { name, new_email } => {
                ("email_changed", context! { name, new_email, shop_name => self.shop_name })
            }
            Letter::AccountDeleted { name } => {
                ("account_deleted", context! { name, shop_name => self.shop_name })
            }
        };
        let render = |suffix: &str| {
            self.templates
                .get_template(&format!("{template}.{suffix}"))
                .and_then(|t| t.render(&values))
                .map_err(Error::internal)
        };
        Ok(Composed {
            recipient: recipient.to_owned(),
            subject: render("subject.txt")?.trim().to_owned(),
            text: render("txt")?,
            html: render("html")?,
            message_id: format!("mail-{}", uuid::Uuid::new_v4().simple()),
        })
    }

    fn link(&self, page: &str, token: &str) -> String {
        format!("{}/{page}?token={token}", self.public_url)
    }

    /// Sends one message, under the `Message-ID` it was queued with, so a receiver can drop repeats.
    ///
    /// The whole exchange is bounded by `MAIL_SEND_TIMEOUT_SECONDS`: lettre's own timeout covers
    /// only connecting, and a server that accepts and then never answers would hold the worker.
    pub async fn deliver(&self, email: &Composed) -> Result<(), DeliveryError> {
        let permanent = |err: &dyn std::fmt::Display| DeliveryError::Permanent(err.to_string());
        let host = url::Url::parse(&self.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".to_owned());
        let message = Message::builder()
            .from(self.from.clone())
            .to(email.recipient.parse::<Mailbox>().map_err(|e| permanent(&e))?)
            .subject(&email.subject)
            .message_id(Some(format!("<{}@{host}>", email.message_id)))
            .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
            .map_err(|e| permanent(&e))?;
        let send = async {
            match &self.transport {
                Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(DeliveryError::from),
                // A full disk or a missing folder may pass: the folder is retried like a server.
                Transport::Folder(folder) => {
                    folder.send(message).await.map(drop).map_err(|e| DeliveryError::Temporary(e.to_string()))
                }
            }
        };
        tokio::time::timeout(self.send_timeout, send).await.unwrap_or_else(|_| {
            Err(DeliveryError::Temporary(format!("no answer within {} s", self.send_timeout.as_secs_f64())))
        })
    }

    /// How long one delivery may take.
    pub fn send_timeout(&self) -> Duration {
        self.send_timeout
    }
}
