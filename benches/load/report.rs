//! Figures: rounding, the table printed, and the JSON written for later comparison.

use serde_json::{Map, Value, json};

use crate::{driver::Outcome, phases::Measured};

/// Two decimals for figures; ratios go through [`ratio`].
pub(crate) fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Three decimals: a ratio near its target must not round across it.
pub(crate) fn ratio(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

pub(crate) fn print_table(results: &Map<String, Value>) {
    println!("\n{:<36} {:>12}", "figure", "value");
    println!("{}", "-".repeat(49));
    for (key, value) in results {
        println!("{key:<36} {:>12}", value.to_string().trim_matches('"'));
    }
}

/// What the run was, beside what it measured.
pub(crate) struct Run {
    pub(crate) postgres: bool,
    pub(crate) cores: usize,
    pub(crate) phase_seconds: u64,
    pub(crate) smoke: bool,
    pub(crate) hash_ms: f64,
    pub(crate) ceiling: f64,
    pub(crate) parallel_hashes_per_s: f64,
    pub(crate) flood_me_rate: u64,
    pub(crate) hash_concurrency: usize,
    /// The hashing threads' nice value.
    pub(crate) hash_nice: u8,
}

/// Every figure, named as `target/bench/results.json` names it.
pub(crate) fn figures(run: &Run, measured: &Measured) -> Map<String, Value> {
    let Measured {
        health,
        typename,
        me,
        me_uncached,
        revocation_ms,
        me_full,
        rest_get,
        me_paced,
        logins,
        flood,
        me_flood,
        storm,
        register,
        update,
        idle_rss,
        peak_rss,
    } = measured;
    let (idle_rss, peak_rss) = (*idle_rss, *peak_rss);
    let (hash, ceiling, cores, hash_concurrency) =
        (run.hash_ms, run.ceiling, run.cores, run.hash_concurrency);
    let mut results = Map::new();
    let mut put = |key: &str, value: Value| {
        results.insert(key.to_owned(), value);
    };
    let (_, login_256) = &logins[2];
    put("database", json!(if run.postgres { "postgres" } else { "sqlite" }));
    put("cores", json!(cores));
    put("phase_seconds", json!(run.phase_seconds));
    put("smoke", json!(run.smoke));
    put("hash_ms", json!(round(hash)));
    put("login_ceiling_per_s", json!(round(ceiling)));
    put("hashes_per_s_all_cores_at_once", json!(round(run.parallel_hashes_per_s)));
    put(
        "ratio_login_to_all_cores_at_once",
        json!(ratio(logins[2].1.per_second() / run.parallel_hashes_per_s)),
    );
    put("health_rps", json!(round(health.per_second())));
    put("typename_rps", json!(round(typename.per_second())));
    put("me_rps", json!(round(me.per_second())));
    put("me_cached_rps", json!(round(me.per_second())));
    put("me_uncached_rps", json!(round(me_uncached.per_second())));
    put("me_uncached_p99_ms", json!(round(me_uncached.ms(0.99))));
    put("me_uncached_failures", json!(me_uncached.failed));
    let mut revocation = revocation_ms.clone();
    revocation.sort_by(f64::total_cmp);
    put("revocation_rounds", json!(revocation.len()));
    put("revocation_visible_ms", json!(revocation.get(revocation.len() / 2).map(|ms| round(*ms))));
    put("revocation_visible_max_ms", json!(revocation.last().map(|ms| round(*ms))));
    put("me_p50_ms", json!(round(me.ms(0.5))));
    put("me_p99_ms", json!(round(me.ms(0.99))));
    put("me_failures", json!(me.failed));
    put("me_full_rps", json!(round(me_full.per_second())));
    put("me_full_p99_ms", json!(round(me_full.ms(0.99))));
    put("me_full_failures", json!(me_full.failed));
    put("rest_get_rps", json!(round(rest_get.per_second())));
    put("rest_get_p99_ms", json!(round(rest_get.ms(0.99))));
    put("rest_get_failures", json!(rest_get.failed));
    put("me_paced_rate_per_s", json!(run.flood_me_rate));
    put("me_paced_p99_ms", json!(round(me_paced.ms(0.99))));
    for (concurrency, outcome) in logins {
        put(&format!("login_ok_per_s_c{concurrency}"), json!(round(outcome.per_second())));
        put(&format!("login_p99_ms_c{concurrency}"), json!(round(outcome.ms(0.99))));
        put(&format!("login_failures_c{concurrency}"), json!(outcome.failed));
    }
    put("login_ok_per_s", json!(round(login_256.per_second())));
    put("login_p99_ms", json!(round(login_256.ms(0.99))));
    put("login_failures", json!(logins.iter().map(|(_, o)| o.failed).sum::<u64>() + flood.failed));
    put("me_p99_during_login_flood_ms", json!(round(me_flood.ms(0.99))));
    put("me_failures_during_login_flood", json!(me_flood.failed));
    put("login_ok_per_s_during_flood", json!(round(flood.per_second())));
    put("register_per_s", json!(round(register.per_second())));
    put("register_failures", json!(register.failed));
    put("update_profile_per_s", json!(round(update.per_second())));
    put("update_profile_failures", json!(update.failed));
    put("idle_rss_mib", json!(round(idle_rss)));
    put("peak_rss_mib", json!(round(peak_rss)));
    put("hash_concurrency", json!(hash_concurrency));
    put("hash_nice", json!(run.hash_nice));
    put("ratio_login_to_ceiling", json!(ratio(login_256.per_second() / ceiling)));
    put("ratio_me_to_health", json!(ratio(me.per_second() / health.per_second())));
    put("ratio_me_to_typename", json!(ratio(me.per_second() / typename.per_second())));
    put("ratio_me_cached_to_uncached", json!(ratio(me.per_second() / me_uncached.per_second())));
    put("ratio_me_full_to_me", json!(ratio(me_full.per_second() / me.per_second())));
    put("ratio_rest_get_to_me", json!(ratio(rest_get.per_second() / me.per_second())));
    put("ratio_me_p99_flood_to_idle", json!(ratio(me_flood.ms(0.99) / me.ms(0.99))));
    put("ratio_me_p99_flood_to_paced_idle", json!(ratio(me_flood.ms(0.99) / me_paced.ms(0.99))));
    put("ratio_register_to_login", json!(ratio(register.per_second() / login_256.per_second())));
    put("rss_budget_mib", json!(round(idle_rss + hash_concurrency as f64 * 20.0 + 50.0)));
    put("ratio_rest_get_to_health", json!(ratio(rest_get.per_second() / health.per_second())));
    put("storm_login_solo_per_s", json!(round(storm.login_solo.per_second())));
    put("storm_me_solo_rps", json!(round(storm.me_solo.per_second())));
    put("storm_login_per_s", json!(round(storm.login.per_second())));
    put("storm_me_rps", json!(round(storm.me.per_second())));
    put("storm_login_p99_ms", json!(round(storm.login.ms(0.99))));
    put("storm_me_p99_ms", json!(round(storm.me.ms(0.99))));
    put("storm_failures", json!(storm.login.failed + storm.me.failed));
    put("ratio_storm_login_to_solo", json!(ratio(storm.login.per_second() / storm.login_solo.per_second())));
    put("ratio_storm_me_to_solo", json!(ratio(storm.me.per_second() / storm.me_solo.per_second())));

    results
}

/// The figures of two replicas behind round-robin, beside one's.
pub(crate) fn two_replicas(results: &mut Map<String, Value>, one: &Measured, me: &Outcome, login: &Outcome) {
    let (_, login_one) = &one.logins[2];
    let mut put = |key: &str, value: Value| {
        results.insert(key.to_owned(), value);
    };
    put("me_rps_2_replicas", json!(round(me.per_second())));
    put("me_failures_2_replicas", json!(me.failed));
    put("login_ok_per_s_2_replicas", json!(round(login.per_second())));
    put("login_failures_2_replicas", json!(login.failed));
    put("ratio_me_2_replicas_to_1", json!(ratio(me.per_second() / one.me.per_second())));
    put("ratio_login_2_replicas_to_1", json!(ratio(login.per_second() / login_one.per_second())));
    explain_failures([("me over two replicas", me), ("login over two replicas", login)]);
}

/// The webhook phase: deliveries a second while a backlog drains, and `me` and logins during it
/// beside the same measured quiet.
pub(crate) fn webhooks(results: &mut Map<String, Value>, w: &crate::webhooks::Webhooks) {
    let mut put = |key: &str, value: Value| {
        results.insert(key.to_owned(), value);
    };
    let drain = w.drain.as_secs_f64();
    put("webhook_deliveries", json!(w.deliveries));
    put("webhook_endpoints", json!(crate::webhooks::ENDPOINTS));
    put("webhook_drain_s", json!(round(drain)));
    put("webhook_deliveries_per_s", json!(round(w.deliveries as f64 / drain)));
    put("webhook_quiet_me_rps", json!(round(w.me_quiet.per_second())));
    put("webhook_quiet_me_p99_ms", json!(round(w.me_quiet.ms(0.99))));
    put("webhook_quiet_login_per_s", json!(round(w.login_quiet.per_second())));
    put("webhook_during_me_rps", json!(round(w.me_during.per_second())));
    put("webhook_during_me_p99_ms", json!(round(w.me_during.ms(0.99))));
    put("webhook_during_login_per_s", json!(round(w.login_during.per_second())));
    put("ratio_webhook_during_to_quiet_me", json!(ratio(w.me_during.per_second() / w.me_quiet.per_second())));
    put(
        "ratio_webhook_during_to_quiet_login",
        json!(ratio(w.login_during.per_second() / w.login_quiet.per_second())),
    );
    explain_failures([
        ("me, no webhooks", &w.me_quiet),
        ("login, no webhooks", &w.login_quiet),
        ("me while webhooks drain", &w.me_during),
        ("login while webhooks drain", &w.login_during),
    ]);
}

/// Explains every phase that had failures, by its first failing answer.
pub(crate) fn failures(m: &Measured) {
    let phases = [
        ("health", &m.health),
        ("{ __typename }", &m.typename),
        ("me", &m.me),
        ("me uncached", &m.me_uncached),
        ("me_full", &m.me_full),
        ("rest get", &m.rest_get),
        ("me paced", &m.me_paced),
        ("login flood", &m.flood),
        ("me during flood", &m.me_flood),
        ("storm login", &m.storm.login),
        ("storm me", &m.storm.me),
        ("register", &m.register),
        ("updateProfile", &m.update),
    ];
    explain_failures(phases.into_iter().chain(m.logins.iter().map(|(_, o)| ("login", o))));
}

/// Prints each named phase's failures, by its first failing answer.
fn explain_failures<'a>(phases: impl IntoIterator<Item = (&'a str, &'a Outcome)>) {
    for (name, outcome) in phases {
        if let Some(failure) = &outcome.first_failure {
            eprintln!(
                "{name}: {} failed; first: {}",
                outcome.failed,
                failure.chars().take(300).collect::<String>()
            );
        }
    }
}
