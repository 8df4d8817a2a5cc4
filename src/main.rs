//! The `customer-accounts` command: serve (default), migrate, schema.

use clap::{Parser, Subcommand, ValueEnum};
use customer_accounts::{
    accounts,
    config::{ConfigError, Settings},
    db, graphql, queue,
    state::AppState,
    telemetry,
};
use migration::{Migrator, MigratorTrait};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Customer accounts for a shop: GraphQL API and legacy REST paths.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (the default).
    Serve,
    /// Change or inspect the database schema.
    Migrate {
        #[arg(value_enum, default_value = "up")]
        action: MigrateAction,
    },
    /// Print the GraphQL schema (SDL), as committed in schema.graphql.
    Schema,
    /// Inspect the background work queue (mail, guest-order linking …).
    Jobs {
        #[command(subcommand)]
        action: JobsAction,
    },
    /// Inspect the mail in the work queue (`jobs … --kind mail`).
    Mail {
        #[command(subcommand)]
        action: MailAction,
    },
    /// Customer data requests.
    Customer {
        #[command(subcommand)]
        action: CustomerAction,
    },
    /// Manage storefront API keys (the webshop register path requires one once a project has any).
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Manage webhook endpoints and inspect their deliveries.
    Webhook {
        #[command(subcommand)]
        action: WebhookAction,
    },
}

#[derive(Subcommand)]
enum WebhookAction {
    /// Create an endpoint; prints its id and signing secret (shown only this once).
    Create {
        /// The project (shop) whose accounts' events it receives.
        #[arg(long, default_value_t = 1)]
        project: i32,
        /// Where events are POSTed (https in production).
        #[arg(long)]
        url: String,
        /// The event types it wants, comma-separated (`customer.created,address.created`); all
        /// when left out.
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
    },
    /// List endpoints (never their secrets).
    List {
        /// Only this project's.
        #[arg(long)]
        project: Option<i32>,
    },
    /// Stop delivering to an endpoint.
    Disable {
        /// The endpoint's id.
        id: i32,
    },
    /// Deliver to a disabled endpoint again (new events; `redeliver` sends missed ones).
    Enable {
        /// The endpoint's id.
        id: i32,
    },
    /// Give an endpoint a new secret (printed once); the old one keeps signing for 24 hours.
    RotateSecret {
        /// The endpoint's id.
        id: i32,
    },
    /// List the latest deliveries with their status, attempts and last error.
    Deliveries {
        /// Only those given up on.
        #[arg(long)]
        failed: bool,
        /// Only those to this endpoint.
        #[arg(long)]
        endpoint: Option<i32>,
    },
    /// Deliver an event again (same `webhook-id`), by the id `deliveries` lists.
    Redeliver {
        /// The delivery's id.
        id: i64,
    },
}

#[derive(Subcommand)]
enum ApiKeyAction {
    /// Create a key and print it (it is shown only this once).
    Create {
        /// The project (shop) the key belongs to.
        #[arg(long, default_value_t = 1)]
        project: i32,
        /// A name to recognise the key by.
        #[arg(long, default_value = "storefront")]
        name: String,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id. The project keeps requiring a key (see `require`).
    Revoke {
        /// The key's id (the part before `|`).
        id: i32,
    },
    /// Whether a project's storefront paths require a key. Creating a key turns this on;
    /// only this command turns it off again.
    Require {
        /// The project (shop).
        #[arg(long, default_value_t = 1)]
        project: i32,
        /// Stop requiring a key: callers without one are accepted again.
        #[arg(long)]
        off: bool,
    },
}

#[derive(Subcommand)]
enum CustomerAction {
    /// Print everything stored about one customer as JSON (a data-subject access request).
    Export {
        /// The customer's email address (any letter case).
        email: String,
        /// The project (shop) the account belongs to.
        #[arg(long, default_value_t = 1)]
        project: i32,
    },
    /// Suspend an account: its sessions end at once (on every replica) and it cannot log in.
    Suspend {
        /// The customer's email address (any letter case).
        email: String,
        /// The project (shop) the account belongs to.
        #[arg(long, default_value_t = 1)]
        project: i32,
    },
    /// Let a suspended account log in again.
    Reactivate {
        /// The customer's email address (any letter case).
        email: String,
        /// The project (shop) the account belongs to.
        #[arg(long, default_value_t = 1)]
        project: i32,
    },
}

#[derive(Subcommand)]
enum MailAction {
    /// Count pending, failed and sent emails, and list the failed ones with their last error.
    Status,
    /// Queue emails for another round of attempts, due now.
    Retry {
        /// Every email marked failed.
        #[arg(long)]
        failed: bool,
        /// These emails (ids as `mail status` lists them).
        ids: Vec<i64>,
    },
}

#[derive(Subcommand)]
enum JobsAction {
    /// Count pending, failed and done jobs, and list the failed ones with their last error.
    Status {
        /// Only jobs of this kind (`mail`, `link_guest_orders` …).
        #[arg(long)]
        kind: Option<String>,
    },
    /// Queue jobs for another round of attempts, due now.
    Retry {
        /// Every job marked failed.
        #[arg(long)]
        failed: bool,
        /// Only jobs of this kind.
        #[arg(long)]
        kind: Option<String>,
        /// These jobs (ids as `jobs status` lists them).
        ids: Vec<i64>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum MigrateAction {
    /// Apply pending migrations.
    Up,
    /// Revert the last migration.
    Down,
    /// List migrations and whether each is applied.
    Status,
    /// Drop everything and apply all migrations again.
    Fresh,
}

/// Exit code for a setting that cannot be used (sysexits' EX_USAGE is taken by clap; 2 is the
/// convention for "you gave me something wrong").
const BAD_SETTING: i32 = 2;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Some(Command::Schema) = cli.command {
        print!("{}", graphql::sdl());
        return;
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("customer-accounts: refusing to start: {err}");
            std::process::exit(BAD_SETTING);
        }
    };
    telemetry::init(settings.server.log_format);
    let secrets = settings.secrets();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate { action } => migrate(settings, action).await,
        Command::Jobs { action } => jobs(settings, action).await,
        Command::Mail { action } => mail(settings, action).await,
        Command::ApiKey { action } => api_key(settings, action).await,
        Command::Customer { action } => customer(settings, action).await,
        Command::Webhook { action } => webhook(settings, action).await,
        Command::Schema => Ok(()),
    };
    if let Err(err) = result {
        // One line, whatever the chain of causes; no secret, even one an error quotes.
        let mut line = format!("{err:#}");
        for secret in &secrets {
            line = line.replace(secret.as_str(), "***");
        }
        if err.chain().any(|cause| cause.is::<ConfigError>()) {
            eprintln!("customer-accounts: refusing to start: {line}");
            std::process::exit(BAD_SETTING);
        }
        eprintln!("customer-accounts: {line}");
        std::process::exit(1);
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let addr = settings.server.listen_addr;
    let public_url = settings.public_url();
    let graphiql = settings.graphiql_enabled();
    // Both addresses are taken before the database is touched: a busy port refuses the start
    // with nothing created (no database file, no secret) and no migration log above the refusal.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ConfigError::new("LISTEN_ADDR", format!("cannot listen on {addr}: {e}")))?;
    let metrics_listener = match (settings.metrics_enabled(), settings.server.metrics_listen_addr) {
        (true, Some(metrics_addr)) => {
            Some(tokio::net::TcpListener::bind(metrics_addr).await.map_err(|e| {
                ConfigError::new("METRICS_LISTEN_ADDR", format!("cannot listen on {metrics_addr}: {e}"))
            })?)
        }
        _ => None,
    };
    let state = AppState::build(settings).await?;
    if let Some(metrics) = metrics_listener {
        let metrics_addr = metrics.local_addr()?;
        let router = customer_accounts::http::metrics_router(state.clone());
        tokio::spawn(async move {
            if let Err(err) = axum::serve(metrics, router).await {
                tracing::error!(error = %err, "the metrics listener stopped");
            }
        });
        tracing::info!(addr = %metrics_addr, "metrics listening");
    }
    tracing::info!(%addr, "customer-accounts listening");
    if graphiql {
        tracing::info!("GraphiQL: {public_url}/graphql");
    }
    customer_accounts::serve(listener, state).await
}

async fn api_key(settings: Settings, action: ApiKeyAction) -> anyhow::Result<()> {
    let state = AppState::build(settings).await?;
    match action {
        ApiKeyAction::Create { project, name } => {
            let created = accounts::create_api_key(&state, project, &name).await?;
            println!("{}", created.key);
            eprintln!(
                "key {} for project {project} created; store it now, it is not shown again",
                created.record.id
            );
        }
        ApiKeyAction::List => {
            for key in accounts::list_api_keys(&state.db).await? {
                let state = key.revoked_at.map_or("active".to_owned(), |at| format!("revoked {at}"));
                println!(
                    "{:<6} project {:<4} {:<24} created {}  {state}",
                    key.id, key.project_id, key.name, key.created_at
                );
            }
        }
        ApiKeyAction::Revoke { id } => {
            if accounts::revoke_api_key(&state, id).await? {
                println!("key {id} revoked");
            } else {
                anyhow::bail!("no active key {id}");
            }
        }
        ApiKeyAction::Require { project, off } => {
            if !accounts::require_api_key(&state, project, !off).await? {
                anyhow::bail!("no project {project}");
            }
            let now = if off { "no longer requires" } else { "requires" };
            println!("project {project} {now} an API key");
        }
    }
    Ok(())
}

async fn webhook(settings: Settings, action: WebhookAction) -> anyhow::Result<()> {
    use accounts::webhooks;
    let state = AppState::build(settings).await?;
    match action {
        WebhookAction::Create { project, url, events } => {
            let created = webhooks::create_endpoint(&state, project, &url, &events).await?;
            println!("{} {}", created.endpoint.id, created.secret);
            eprintln!(
                "endpoint {} for project {project} created; store its secret now, it is not shown again",
                created.endpoint.id
            );
        }
        WebhookAction::List { project } => {
            for endpoint in webhooks::endpoints(&state, project).await? {
                let status = match (endpoint.enabled, &endpoint.disabled_reason) {
                    (true, _) => "enabled".to_owned(),
                    (false, Some(reason)) => format!("disabled: {reason}"),
                    (false, None) => "disabled".to_owned(),
                };
                println!(
                    "{:<6} project {:<4} {}  events {}  {status}",
                    endpoint.id, endpoint.project_id, endpoint.url, endpoint.event_types
                );
            }
        }
        WebhookAction::Disable { id } => {
            webhooks::disable(&state, id, "disabled from the command line").await?;
            println!("endpoint {id} disabled");
        }
        WebhookAction::Enable { id } => {
            webhooks::enable(&state, id).await?;
            println!("endpoint {id} enabled");
        }
        WebhookAction::RotateSecret { id } => {
            let secret = webhooks::rotate_secret(&state, id).await?;
            println!("{secret}");
            eprintln!("endpoint {id} has a new secret; the previous one signs too for 24 hours");
        }
        WebhookAction::Deliveries { failed, endpoint } => {
            for delivery in webhooks::deliveries(&state, failed, endpoint).await? {
                let error = delivery.last_error.unwrap_or_default();
                println!(
                    "{:<8} endpoint {:<4} {:<10} {:<24} {} attempts {:<3} {} {error}",
                    delivery.id,
                    delivery.endpoint_id,
                    delivery.status.as_str(),
                    delivery.event_type,
                    delivery.event_id,
                    delivery.attempts,
                    delivery.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                );
            }
        }
        WebhookAction::Redeliver { id } => {
            let again = webhooks::redeliver(&state, id).await?;
            println!("delivery {again} queued (again of {id})");
        }
    }
    Ok(())
}

async fn customer(settings: Settings, action: CustomerAction) -> anyhow::Result<()> {
    let state = AppState::build(settings).await?;
    let (email, project, suspend) = match action {
        CustomerAction::Export { email, project } => {
            let Some(export) = accounts::export_customer(&state.db, project, &email).await? else {
                anyhow::bail!("no customer with that email in project {project}");
            };
            println!("{}", serde_json::to_string_pretty(&export)?);
            return Ok(());
        }
        CustomerAction::Suspend { email, project } => (email, project, true),
        CustomerAction::Reactivate { email, project } => (email, project, false),
    };
    if !accounts::set_suspended(&state, project, &email, suspend).await? {
        anyhow::bail!("no customer with that email in project {project}");
    }
    println!("{email} {}", if suspend { "suspended" } else { "reactivated" });
    Ok(())
}

async fn mail(settings: Settings, action: MailAction) -> anyhow::Result<()> {
    let conn = db::connect(&settings).await?;
    let kind = Some(customer_accounts::mail::KIND);
    match action {
        MailAction::Status => {
            let counts = queue::counts(&conn, kind).await?;
            println!("pending {}\nfailed  {}\nsent    {}", counts.pending, counts.failed, counts.done);
            for job in queue::failed(&conn, kind).await? {
                let to = serde_json::from_str::<serde_json::Value>(&job.payload)
                    .ok()
                    .and_then(|letter| letter["to"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                let error = job.last_error.unwrap_or_default();
                println!("failed  {:<6} to {to} after {} attempts: {error}", job.id, job.attempts);
            }
        }
        MailAction::Retry { failed, ids } => {
            let queued = queue::retry(&conn, retry_which(failed, ids)?, kind, chrono::Utc::now()).await?;
            println!("{queued} emails queued again");
        }
    }
    Ok(())
}

async fn jobs(settings: Settings, action: JobsAction) -> anyhow::Result<()> {
    let conn = db::connect(&settings).await?;
    match action {
        JobsAction::Status { kind } => {
            let counts = queue::counts(&conn, kind.as_deref()).await?;
            println!("pending {}\nfailed  {}\ndone    {}", counts.pending, counts.failed, counts.done);
            for job in queue::failed(&conn, kind.as_deref()).await? {
                let error = job.last_error.unwrap_or_default();
                println!("failed  {:<6} {:<20} after {} attempts: {error}", job.id, job.kind, job.attempts);
            }
        }
        JobsAction::Retry { failed, kind, ids } => {
            let which = retry_which(failed, ids)?;
            let queued = queue::retry(&conn, which, kind.as_deref(), chrono::Utc::now()).await?;
            println!("{queued} jobs queued again");
        }
    }
    Ok(())
}

/// `--failed` or a list of ids, never both or neither.
fn retry_which(failed: bool, ids: Vec<i64>) -> anyhow::Result<queue::Retry> {
    match (failed, ids.is_empty()) {
        (true, true) => Ok(queue::Retry::Failed),
        (false, false) => Ok(queue::Retry::Ids(ids)),
        _ => anyhow::bail!("name the ids to retry, or --failed for every failed one"),
    }
}

async fn migrate(settings: Settings, action: MigrateAction) -> anyhow::Result<()> {
    let conn = db::connect(&settings).await?;
    match action {
        MigrateAction::Up => db::migrate(&conn).await?,
        MigrateAction::Down => Migrator::down(&conn, Some(1)).await?,
        MigrateAction::Fresh => Migrator::fresh(&conn).await?,
        MigrateAction::Status => {
            for migration in Migrator::get_migration_with_status(&conn).await? {
                println!("{:<10} {}", format!("{:?}", migration.status()), migration.name());
            }
        }
    }
    Ok(())
}
