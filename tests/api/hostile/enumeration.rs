//! Enumeration: answers and timing do not tell which emails have accounts.

use super::*;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Interleaves `rounds` timings of `known` and `unknown` and returns the ratio of their medians.
/// The other tests load the same two cores meanwhile, so a series that lands outside 0.8-1.25 is
/// measured again, up to three times: a real difference shows in every series, noise does not.
async fn timing_ratio<F, Fut>(rounds: usize, mut call: F) -> f64
where
    F: FnMut(bool) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let mut ratio = f64::NAN;
    for _series in 0..3 {
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate which goes first, so neither always runs on a warmer cache.
            for is_known in if round % 2 == 0 { [true, false] } else { [false, true] } {
                let started = Instant::now();
                call(is_known).await;
                if is_known { known.push(started.elapsed()) } else { unknown.push(started.elapsed()) }
            }
        }
        ratio = median(unknown).as_secs_f64() / median(known).as_secs_f64();
        eprintln!("unknown/known median ratio: {ratio:.3}");
        if (0.8..=1.25).contains(&ratio) {
            break;
        }
    }
    ratio
}

#[tokio::test]
async fn failed_logins_take_the_same_time_for_known_and_unknown_emails() {
    let app = spawn_with(|s| s.limits.login_failures_per_email = 1_000).await;
    app.register("jane@example.com").await;
    let ratio = timing_ratio(15, |known| {
        let email = if known { "jane@example.com" } else { "nobody@example.com" };
        app.gql(crate::helpers::LOGIN, json!({ "email": email, "password": "wrong-password" }))
    })
    .await;
    assert!((0.8..=1.25).contains(&ratio), "unknown/known = {ratio:.2}");
}

#[tokio::test]
async fn forgot_password_takes_the_same_time_for_known_and_unknown_emails() {
    let app = spawn().await;
    app.register("jane@example.com").await;
    let query = "mutation($e: String!) { forgotPassword(email: $e) { message } }";
    let ratio = timing_ratio(41, |known| {
        let email = if known { "jane@example.com" } else { "nobody@example.com" };
        app.gql(query, json!({ "e": email }))
    })
    .await;
    assert!((0.8..=1.25).contains(&ratio), "unknown/known = {ratio:.2}");
}
