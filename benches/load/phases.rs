//! The phases: what each sends and checks, on seeded customers.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    PASSWORD,
    driver::{Call, MakeCall, Outcome, connect, drive, drive_round_robin, get, graphql, graphql_ok, send},
    service::Service,
};

pub(crate) async fn seed(addr: SocketAddr, customers: usize, run: &str) -> Vec<(String, String)> {
    let query = "mutation($input: RegisterInput!) { register(input: $input) { token errors { code } } }";
    let mut seeded = Vec::new();
    for chunk in (0..customers).collect::<Vec<_>>().chunks(8) {
        let calls = chunk.iter().map(|i| {
            let email = format!("seed-{run}-{i}@example.com");
            async move {
                let mut sender = connect(addr).await.unwrap();
                let input = json!({ "input": { "email": email, "firstName": "Bench", "lastName": "Seed",
                    "password": PASSWORD, "passwordConfirmation": PASSWORD } });
                let call =
                    Call { method: Method::POST, path: "/graphql", body: graphql(query, input), token: None };
                let (_, body) = send(&mut sender, call).await.unwrap();
                let answer: Value = serde_json::from_slice(&body).unwrap();
                let token = answer["data"]["register"]["token"]
                    .as_str()
                    .unwrap_or_else(|| panic!("seeding {email} failed: {answer}"))
                    .to_owned();
                (email, token)
            }
        });
        seeded.extend(futures::future::join_all(calls).await);
    }
    seeded
}

/// What a storefront's account page asks: the customer with sessions, addresses and orders.
const ME_FULL: &str = "{ me { id email firstName sessions { id current lastSeenAt userAgent } addresses { id street city country defaultBilling } orders { reference total currency placedAt } } }";

/// Gives every seeded customer an address (through the API), a verified address and three guest
/// orders (in the database: verifying needs the mailbox, recording needs a project key), so
/// `me { … orders }` reads real rows.
pub(crate) async fn seed_lifecycle(service: &Service, customers: &[(String, String)]) -> anyhow::Result<()> {
    use customer_accounts::entity::{customer, guest_order};
    use sea_orm::{
        ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set, sea_query::Expr,
    };
    let db = sea_orm::Database::connect(&service.database_url).await?;
    let now = chrono::Utc::now();
    customer::Entity::update_many()
        .col_expr(customer::Column::EmailVerifiedAt, Expr::value(now))
        .exec(&db)
        .await?;
    for (email, _) in customers {
        // Two columns only: `--binary` may measure an older schema.
        let Some((id, project_id)) = customer::Entity::find()
            .select_only()
            .columns([customer::Column::Id, customer::Column::ProjectId])
            .filter(customer::Column::EmailNormalized.eq(email))
            .into_tuple::<(i64, i32)>()
            .one(&db)
            .await?
        else {
            anyhow::bail!("seeded customer {email} is missing");
        };
        for n in 0..3 {
            guest_order::ActiveModel {
                project_id: Set(project_id),
                reference: Set(format!("{id}-{n}")),
                email: Set(email.clone()),
                email_normalized: Set(email.clone()),
                total: Set("19.99".to_owned()),
                currency: Set("EUR".to_owned()),
                placed_at: Set(now - chrono::Duration::days(n)),
                customer_id: Set(Some(id)),
                linked_at: Set(Some(now)),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&db)
            .await?;
        }
    }
    db.close().await?;
    // Through the API last: a request caches its session, and the verification above (behind
    // the service's back) must already be in what it caches.
    let create = "mutation($input: AddressInput!) { createAddress(input: $input) { errors { code } } }";
    let input = json!({ "input": { "firstName": "Bench", "lastName": "Seed", "street": "Damrak 1",
        "postcode": "1012 LG", "city": "Amsterdam", "country": "NL" } });
    let mut sender = connect(service.addr).await?;
    for (_, token) in customers {
        let call = Call {
            method: Method::POST,
            path: "/graphql",
            body: graphql(create, input.clone()),
            token: Some(token.clone()),
        };
        send(&mut sender, call).await?;
    }
    Ok(())
}

pub(crate) fn me_full_call(customers: Arc<Vec<(String, String)>>) -> MakeCall {
    Arc::new(move |i| {
        let (_, token) = &customers[i as usize % customers.len()];
        Call {
            method: Method::POST,
            path: "/graphql",
            body: graphql(ME_FULL, json!({})),
            token: Some(token.clone()),
        }
    })
}

/// A full `me`: one current session, an address and three orders.
pub(crate) fn me_full_ok(status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::OK
        && serde_json::from_slice::<Value>(body).is_ok_and(|v| {
            let me = &v["data"]["me"];
            me["sessions"][0]["current"] == true
                && me["addresses"][0]["city"] == "Amsterdam"
                && me["orders"][2]["total"] == "19.99"
        })
}

pub(crate) fn login_call(customers: Arc<Vec<(String, String)>>) -> MakeCall {
    Arc::new(move |i| {
        let (email, _) = &customers[i as usize % customers.len()];
        let query =
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token errors { code } } }";
        Call {
            method: Method::POST,
            path: "/graphql",
            body: graphql(query, json!({ "e": email, "p": PASSWORD })),
            token: None,
        }
    })
}

pub(crate) fn me_call(customers: Arc<Vec<(String, String)>>) -> MakeCall {
    Arc::new(move |i| {
        let (_, token) = &customers[i as usize % customers.len()];
        Call {
            method: Method::POST,
            path: "/graphql",
            body: graphql("{ me { id email firstName } }", json!({})),
            token: Some(token.clone()),
        }
    })
}

pub(crate) fn me_ok(status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::OK
        && serde_json::from_slice::<Value>(body).is_ok_and(|v| v["data"]["me"]["id"].is_string())
}

/// What every phase measured.
pub(crate) struct Measured {
    pub(crate) health: Outcome,
    pub(crate) typename: Outcome,
    pub(crate) me: Outcome,
    pub(crate) me_uncached: Outcome,
    /// Per round: milliseconds from a logout's answer on one replica to another replica's refusal.
    pub(crate) revocation_ms: Vec<f64>,
    pub(crate) me_full: Outcome,
    pub(crate) rest_get: Outcome,
    pub(crate) me_paced: Outcome,
    pub(crate) logins: Vec<(usize, Outcome)>,
    pub(crate) flood: Outcome,
    pub(crate) me_flood: Outcome,
    pub(crate) storm: Storm,
    pub(crate) register: Outcome,
    pub(crate) update: Outcome,
    pub(crate) idle_rss: f64,
    pub(crate) peak_rss: f64,
}

/// Runs every phase against `service`, `phase` long each; `me` also against `uncached` (the same
/// database, no session cache), and revocation across the `revocation` pair when there is one.
pub(crate) async fn measure(
    service: &Service,
    uncached: &Service,
    revocation: Option<&(Service, Service)>,
    customers: Arc<Vec<(String, String)>>,
    phase: Duration,
    flood_me_rate: u64,
) -> anyhow::Result<Measured> {
    let addr = service.addr;
    // Before any session is cached: it writes verification behind the service's back.
    seed_lifecycle(service, &customers).await?;
    let (health, typename, me, rest_get, me_paced) =
        read_phases(addr, &customers, phase, flood_me_rate).await;
    eprintln!("phase: me without the session cache");
    let me_uncached =
        drive(uncached.addr, 64, phase, None, me_call(customers.clone()), Arc::new(me_ok)).await;
    let revocation_ms = match revocation {
        Some(pair) => {
            eprintln!("phase: a logout on one replica, until another refuses the token");
            revocation_visible(pair, &customers, if phase.as_secs() <= 1 { 3 } else { 25 }).await?
        }
        None => Vec::new(),
    };
    eprintln!("phase: me with sessions, addresses and orders");
    let me_full = drive(addr, 64, phase, None, me_full_call(customers.clone()), Arc::new(me_full_ok)).await;
    let (logins, flood, me_flood, idle_rss, peak_rss) =
        login_phases(service, &customers, phase, flood_me_rate).await?;
    let storm = mixed_storm(addr, &customers, phase).await;
    let (register, update) = write_phases(addr, &customers, phase).await;
    Ok(Measured {
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
    })
}

/// What the mixed storm measured: each half alone, then both at once.
pub(crate) struct Storm {
    /// Logins at c=256, alone.
    pub(crate) login_solo: Outcome,
    /// Unpaced `me` at c=8, alone.
    pub(crate) me_solo: Outcome,
    /// Logins at c=256 while `me` runs.
    pub(crate) login: Outcome,
    /// Unpaced `me` at c=8 while logins run.
    pub(crate) me: Outcome,
}

/// A sale morning: logins at c=256 and every open tab reading `me` as fast as it can (c=8),
/// together for at least ten seconds, beside each alone for as long.
async fn mixed_storm(addr: SocketAddr, customers: &Arc<Vec<(String, String)>>, phase: Duration) -> Storm {
    let phase = if phase < Duration::from_secs(2) { phase } else { phase.max(Duration::from_secs(10)) };
    let logins =
        || drive(addr, 256, phase, None, login_call(customers.clone()), Arc::new(graphql_ok("login")));
    let reads = || drive(addr, 8, phase, None, me_call(customers.clone()), Arc::new(me_ok));
    eprintln!("phase: mixed storm, logins alone");
    let login_solo = logins().await;
    eprintln!("phase: mixed storm, me alone");
    let me_solo = reads().await;
    eprintln!("phase: mixed storm, both at once");
    let (login, me) = tokio::join!(logins(), reads());
    Storm { login_solo, me_solo, login, me }
}

/// The read path: `/health` (the HTTP ceiling), `{ __typename }` (the GraphQL pipeline alone),
/// `me`, REST's `GET /api/customer/get`, and `me` paced at `flood_me_rate`.
async fn read_phases(
    addr: SocketAddr,
    customers: &Arc<Vec<(String, String)>>,
    phase: Duration,
    flood_me_rate: u64,
) -> (Outcome, Outcome, Outcome, Outcome, Outcome) {
    eprintln!("phase: health");
    let health =
        drive(addr, 64, phase, None, Arc::new(|_| get("/health")), Arc::new(|s, _| s == StatusCode::OK))
            .await;
    eprintln!("phase: {{ __typename }}");
    let typename = drive(
        addr,
        64,
        phase,
        None,
        Arc::new(|_| Call {
            method: Method::POST,
            path: "/graphql",
            body: graphql("{ __typename }", json!({})),
            token: None,
        }),
        Arc::new(|status, body| {
            status == StatusCode::OK
                && serde_json::from_slice::<Value>(body).is_ok_and(|v| v["data"]["__typename"] == "Query")
        }),
    )
    .await;
    eprintln!("phase: me");
    let me = drive(addr, 64, phase, None, me_call(customers.clone()), Arc::new(me_ok)).await;
    eprintln!("phase: REST GET /api/customer/get");
    let rest_customers = customers.clone();
    let rest_get = drive(
        addr,
        64,
        phase,
        None,
        Arc::new(move |i| {
            let (_, token) = &rest_customers[i as usize % rest_customers.len()];
            Call { method: Method::GET, path: "/api/customer/get", body: None, token: Some(token.clone()) }
        }),
        Arc::new(|status, body| {
            status == StatusCode::OK
                && serde_json::from_slice::<Value>(body).is_ok_and(|v| v["data"]["id"].is_number())
        }),
    )
    .await;
    eprintln!("phase: me at {} req/s, idle", flood_me_rate);
    let me_paced =
        drive(addr, 8, phase, Some(flood_me_rate), me_call(customers.clone()), Arc::new(me_ok)).await;

    (health, typename, me, rest_get, me_paced)
}

/// `rounds` times: a seeded customer logs in on the pair's first replica, `me` on the second
/// caches the session, the first logs it out, and the second is asked until it refuses the
/// token; the milliseconds from the logout's answer to that refusal.
async fn revocation_visible(
    (first, second): &(Service, Service),
    customers: &Arc<Vec<(String, String)>>,
    rounds: usize,
) -> anyhow::Result<Vec<f64>> {
    let (mut on_first, mut on_second) = (connect(first.addr).await?, connect(second.addr).await?);
    let login = login_call(customers.clone());
    let mut times = Vec::new();
    for round in 0..rounds {
        let (_, body) = send(&mut on_first, login(round as u64)).await?;
        let answer: Value = serde_json::from_slice(&body)?;
        let Some(token) = answer["data"]["login"]["token"].as_str().map(str::to_owned) else {
            anyhow::bail!("login failed: {answer}");
        };
        let me = me_call(Arc::new(vec![(String::new(), token.clone())]));
        for _ in 0..2 {
            let (status, body) = send(&mut on_second, me(0)).await?;
            anyhow::ensure!(
                me_ok(status, &body),
                "the second replica refused a live session: {status} {}",
                String::from_utf8_lossy(&body)
            );
        }
        let logout = Call {
            method: Method::POST,
            path: "/graphql",
            body: graphql("mutation { logout { success } }", json!({})),
            token: Some(token),
        };
        send(&mut on_first, logout).await?;
        let answered = Instant::now();
        loop {
            let (status, body) = send(&mut on_second, me(0)).await?;
            if !me_ok(status, &body) {
                break;
            }
            anyhow::ensure!(
                answered.elapsed() < Duration::from_secs(5),
                "the logout never reached the other replica"
            );
        }
        times.push(answered.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(times)
}

/// Logins at 2, 16 and 256 connections, then `me` paced while 256 connections flood login,
/// with the service's resident memory sampled meanwhile.
async fn login_phases(
    service: &Service,
    customers: &Arc<Vec<(String, String)>>,
    phase: Duration,
    flood_me_rate: u64,
) -> anyhow::Result<(Vec<(usize, Outcome)>, Outcome, Outcome, f64, f64)> {
    let addr = service.addr;
    let mut logins = Vec::new();
    for concurrency in [2, 16, 256] {
        eprintln!("phase: login c={concurrency}");
        let outcome = drive(
            addr,
            concurrency,
            phase,
            None,
            login_call(customers.clone()),
            Arc::new(graphql_ok("login")),
        )
        .await;
        logins.push((concurrency, outcome));
    }

    eprintln!("phase: me during a login flood");
    let idle_rss = service.rss_mib();
    let sampling = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (sampling, peak, pid) = (sampling.clone(), peak.clone(), service.child.id());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                if let Some(kib) = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let flood = tokio::spawn(drive(
        addr,
        256,
        phase,
        None,
        login_call(customers.clone()),
        Arc::new(graphql_ok("login")),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let me_flood =
        drive(addr, 8, phase, Some(flood_me_rate), me_call(customers.clone()), Arc::new(me_ok)).await;
    let flood = flood.await?;
    sampling.store(false, Ordering::Relaxed);
    sampler.await?;
    let peak_rss = peak.load(Ordering::Relaxed) as f64 / 1024.0;

    Ok((logins, flood, me_flood, idle_rss, peak_rss))
}

/// `me` and logins spread round-robin over two replicas on one database: on one machine they
/// share its cores, so this shows what a second replica costs, not what a second machine adds.
pub(crate) async fn two_replicas(
    targets: [SocketAddr; 2],
    customers: &Arc<Vec<(String, String)>>,
    phase: Duration,
) -> (Outcome, Outcome) {
    eprintln!("phase: me over two replicas");
    let me = drive_round_robin(&targets, 64, phase, None, me_call(customers.clone()), Arc::new(me_ok)).await;
    eprintln!("phase: login c=256 over two replicas");
    let login = drive_round_robin(
        &targets,
        256,
        phase,
        None,
        login_call(customers.clone()),
        Arc::new(graphql_ok("login")),
    )
    .await;
    (me, login)
}

/// The write path: registrations and profile updates.
async fn write_phases(
    addr: SocketAddr,
    customers: &Arc<Vec<(String, String)>>,
    phase: Duration,
) -> (Outcome, Outcome) {
    eprintln!("phase: register");
    let register_query =
        "mutation($input: RegisterInput!) { register(input: $input) { token errors { code } } }";
    let register = drive(
        addr,
        16,
        phase,
        None,
        Arc::new(move |i| {
            let input = json!({ "input": { "email": format!("fresh-{i}@example.com"), "firstName": "Fresh", "lastName": "Bench",
                "password": PASSWORD, "passwordConfirmation": PASSWORD } });
            Call { method: Method::POST, path: "/graphql", body: graphql(register_query, input), token: None }
        }),
        Arc::new(graphql_ok("register")),
    )
    .await;
    eprintln!("phase: updateProfile");
    let update_customers = customers.clone();
    let update = drive(
        addr,
        16,
        phase,
        None,
        Arc::new(move |i| {
            let (_, token) = &update_customers[i as usize % update_customers.len()];
            let query = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { customer { id } errors { code } } }";
            let input = json!({ "input": { "firstName": format!("Name{i}") } });
            Call { method: Method::POST, path: "/graphql", body: graphql(query, input), token: Some(token.clone()) }
        }),
        Arc::new(graphql_ok("updateProfile")),
    )
    .await;
    (register, update)
}
