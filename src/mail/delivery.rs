//! Mail as a kind of queued work: a job carries one composed letter; an attempt sends it.
//!
//! A permanent refusal (a 5xx reply) gives the letter up at once, with the reason. Temporary
//! failures (4xx, no connection, no answer within `MAIL_SEND_TIMEOUT_SECONDS`) are retried by
//! the queue until the letter has had `MAIL_MAX_ATTEMPTS` tries and is older than
//! `MAIL_GIVE_UP_AFTER_SECONDS`. Letters go one at a time (one lane): a replica killed mid-send
//! can leave at most one letter to be sent again, under its `Message-ID`.

use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{Composed, DeliveryError, Mailer};
use crate::{
    config::Settings,
    queue::{Job, Kind, Outcome, Policy},
};

/// The kind's name in the queue.
pub const KIND: &str = "mail";

/// How long a claim outlives the send timeout: the bookkeeping after a send needs a moment too.
pub const CLAIM_MARGIN: Duration = Duration::from_secs(5);

/// What delivery needs of the service: its mailer. The service's state provides it, so this
/// module needs nothing above it.
pub trait Post {
    /// The mailer that delivers.
    fn mailer(&self) -> &Mailer;
}

/// Delivering queued letters.
pub struct Delivery {
    policy: Policy,
}

impl Delivery {
    /// Delivery with the mail settings' timeout and retry budget.
    pub fn new(settings: &Settings) -> Self {
        Self {
            policy: Policy {
                lease: Duration::from_secs(settings.mail.send_timeout_seconds) + CLAIM_MARGIN,
                max_attempts: settings.mail.max_attempts,
                give_up_after: Duration::from_secs(settings.mail.give_up_after_seconds),
                lane_limit: 1,
            },
        }
    }
}

impl<C: Post + Send + Sync> Kind<C> for Delivery {
    fn name(&self) -> &'static str {
        KIND
    }

    fn policy(&self) -> Policy {
        self.policy
    }

    fn run<'a>(&'a self, context: &'a C, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let letter: Composed = match serde_json::from_value(job.payload.clone()) {
                Ok(letter) => letter,
                Err(err) => return Outcome::GiveUp(format!("the job carries no letter: {err}")),
            };
            match context.mailer().deliver(&letter).await {
                Ok(()) => Outcome::Done,
                Err(err @ DeliveryError::Permanent(_)) => Outcome::GiveUp(err.to_string()),
                Err(err @ DeliveryError::Temporary(_)) => Outcome::Retry(err.to_string()),
            }
        })
    }
}
