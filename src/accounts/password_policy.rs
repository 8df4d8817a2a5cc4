//! How guessable a new password is, by zxcvbn (Dropbox's estimator: common passwords, names,
//! dictionary words, keyboard walks, dates, l33t), with the customer's own names and email
//! counted as guessable. `PASSWORD_MIN_SCORE` (0–4, default 3) is the bar; 0 turns it off.

use unicode_normalization::UnicodeNormalization as _;
use zeroize::Zeroizing;

use super::validate::MAX_PASSWORD;
use crate::{
    auth::Password,
    error::{Code, Error, Field, FieldError, Result},
    state::AppState,
};

/// Characters judged. zxcvbn's cost grows faster than the length (measured on the 2-core CI
/// machine, optimised: 13 ms for 40 random characters, 53 ms for 64, 227 ms for 128), and 40
/// characters that are hard to guess make a password hard to guess whatever follows.
const JUDGED_CHARS: usize = 40;

/// What to say when zxcvbn gives no advice of its own (it gives some only below score 3).
const GENERIC_ADVICE: &str = "Add another word or two. Uncommon words are better.";

/// What a customer's password might be built from: their email addresses and their names (first,
/// last), as known before and after the change being judged.
#[derive(Debug, Default)]
pub(super) struct Guessable<'a> {
    /// Email addresses.
    pub emails: Vec<&'a str>,
    /// (first name, last name) pairs.
    pub names: Vec<(&'a str, &'a str)>,
}

/// Separators people put between the parts of a name they make a password of.
const SEPARATORS: [&str; 5] = ["", " ", ".", "_", "-"];

impl Guessable<'_> {
    /// The words zxcvbn should count as guessable, lower case, in the forms people build
    /// passwords from: each name, the full name in both orders with each separator, each email
    /// whole, its domain, its local part and that part split at punctuation (also rejoined). A
    /// password of several parts costs zxcvbn's search a penalty per part, so "Jane Doe"
    /// passes unless "jane doe" itself is a word it knows.
    fn words(&self) -> Vec<String> {
        let mut words = Vec::new();
        let normal = |value: &str| value.trim().nfkc().collect::<String>().to_lowercase();
        for email in self.emails.iter().map(|e| normal(e)).filter(|e| !e.is_empty()) {
            if let Some((local, domain)) = email.split_once('@') {
                let parts: Vec<&str> =
                    local.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty()).collect();
                if parts.len() > 1 {
                    words.extend(parts.iter().map(|p| (*p).to_owned()));
                    words.push(parts.concat());
                }
                words.extend([local.to_owned(), domain.to_owned()]);
            }
            words.push(email);
        }
        for (first, last) in &self.names {
            let (first, last) = (normal(first), normal(last));
            for part in [&first, &last].into_iter().filter(|p| !p.is_empty()) {
                words.push(part.clone());
            }
            if first.is_empty() || last.is_empty() {
                continue;
            }
            for separator in SEPARATORS {
                words.push(format!("{first}{separator}{last}"));
                words.push(format!("{last}{separator}{first}"));
            }
        }
        words.sort();
        words.dedup();
        words
    }
}

/// A `TOO_WEAK` refusal of `field` when `password` scores below `PASSWORD_MIN_SCORE`, `None`
/// when it passes or when its length is refused anyway (that error says enough). `guessable`
/// are the customer's names and email. Runs on the blocking pool: a worst case costs
/// milliseconds of CPU that the async workers must not spend.
pub(super) async fn weakness(
    state: &AppState,
    field: Field,
    password: &Password,
    guessable: &Guessable<'_>,
) -> Result<Option<FieldError>> {
    let min_score = state.settings.auth.password_min_score;
    let length = password.expose().chars().count();
    if min_score == 0 || length < state.settings.auth.password_min_length || length > MAX_PASSWORD {
        return Ok(None);
    }
    let judged = Zeroizing::new(password.expose().chars().take(JUDGED_CHARS).collect::<String>());
    let inputs = guessable.words();
    let estimate = tokio::task::spawn_blocking(move || {
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let entropy = zxcvbn::zxcvbn(&judged, &inputs);
        (u8::from(entropy.score()), entropy.feedback().map(ToString::to_string))
    })
    .await
    .map_err(Error::internal)?;
    let (score, advice) = estimate;
    if score >= min_score {
        return Ok(None);
    }
    let advice = advice.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
    Ok(Some(FieldError {
        note: Some(advice.unwrap_or_else(|| GENERIC_ADVICE.to_owned())),
        ..FieldError::new(field, Code::TooWeak)
    }))
}
