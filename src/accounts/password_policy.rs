//! How guessable a new password is, by zxcvbn (Dropbox's estimator: common passwords, names,
//! dictionary words, keyboard walks, dates, l33t), with the customer's own names and email
//! counted as guessable. `PASSWORD_MIN_SCORE` (0–4, default 3) is the bar; 0 turns it off.

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

/// A `TOO_WEAK` refusal of `field` when `password` scores below `PASSWORD_MIN_SCORE`, `None`
/// when it passes or when its length is refused anyway (that error says enough). `guessable`
/// are the customer's names and email. Runs on the blocking pool: a worst case costs
/// milliseconds of CPU that the async workers must not spend.
pub(super) async fn weakness(
    state: &AppState,
    field: Field,
    password: &Password,
    guessable: &[&str],
) -> Result<Option<FieldError>> {
    let min_score = state.settings.password_min_score;
    let length = password.expose().chars().count();
    if min_score == 0 || length < state.settings.password_min_length || length > MAX_PASSWORD {
        return Ok(None);
    }
    let judged = Zeroizing::new(password.expose().chars().take(JUDGED_CHARS).collect::<String>());
    let mut inputs: Vec<String> = Vec::new();
    for value in guessable.iter().map(|v| v.trim().to_lowercase()).filter(|v| !v.is_empty()) {
        // The local part and the domain of an email are guessed apart as well as whole.
        if let Some((local, domain)) = value.split_once('@') {
            inputs.extend([local.to_owned(), domain.to_owned()]);
        }
        inputs.push(value);
    }
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
