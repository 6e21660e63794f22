//! The command line: every option, its environment variable and its default.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use trash_core::domain::Retention;

use crate::config::{self, DatabaseUrl};

/// trashd: a recoverable-deletion ("trash") server, wire-compatible with the
/// Roboflow Manage Trash API.
#[derive(Debug, Parser)]
#[command(name = "trashd", version, propagate_version = true)]
pub struct Cli {
    /// Options every command shares.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command shares.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Where the data lives: sqlite://PATH (a file, created if missing),
    /// postgres://USER@HOST/DB, or memory:// (nothing survives the process).
    // Kept as text here and parsed by `database_url()`, so that a refused
    // value is never echoed with its password (clap would print it as is).
    #[arg(
        long = "database-url",
        env = "TRASHD_DATABASE_URL",
        default_value = DatabaseUrl::DEFAULT,
        global = true,
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url_raw: String,

    /// Largest number of PostgreSQL connections this process opens.
    #[arg(
        long,
        env = "TRASHD_DB_MAX_CONNECTIONS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..=1000),
        global = true,
        value_name = "N"
    )]
    pub db_max_connections: u32,

    /// How long a request waits for a free PostgreSQL connection before the
    /// server answers 503.
    #[arg(
        long,
        env = "TRASHD_DB_ACQUIRE_TIMEOUT",
        default_value = "5s",
        value_parser = config::parse_timeout,
        global = true,
        value_name = "DURATION"
    )]
    pub db_acquire_timeout: Duration,

    /// PostgreSQL only: do not apply pending schema migrations at startup
    /// (run `trashd migrate` as a separate deployment step instead). SQLite
    /// files are always brought up to date when opened.
    #[arg(long, env = "TRASHD_SKIP_MIGRATIONS", global = true)]
    pub skip_migrations: bool,

    /// Log line format on stderr. The level is set with TRASHD_LOG (or
    /// RUST_LOG), e.g. `info` or `trashd=debug,info`.
    #[arg(
        long,
        env = "TRASHD_LOG_FORMAT",
        default_value = "text",
        global = true,
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the REST API and the web Trash view, and run the cleanup loop.
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Remove trashed items whose retention has passed.
    Cleanup(CleanupArgs),
    /// Deliver the outbound webhook messages waiting in the outbox.
    Deliver(DeliverArgs),
    /// Administer workspaces, API keys and web users.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Seed a demo workspace with sample data, print an API key, a web login
    /// and commands to try, then serve.
    Quickstart(QuickstartArgs),
}

/// Options of `serve` (and `quickstart`).
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (HOST:PORT; port 0 picks a free one).
    #[arg(
        long,
        env = "TRASHD_LISTEN",
        default_value = "127.0.0.1:8080",
        value_parser = parse_listen,
        value_name = "HOST:PORT"
    )]
    pub listen: String,

    /// How long trashed items stay restorable (e.g. 30d, 12h, 90s). Fixed for
    /// each item when it is trashed.
    #[arg(
        long,
        env = "TRASHD_RETENTION",
        default_value = "30d",
        value_parser = config::parse_retention,
        value_name = "DURATION"
    )]
    pub retention: Retention,

    /// How the cleanup loop runs.
    #[command(flatten)]
    pub cleanup: CleanupLoopArgs,

    /// Do not run the cleanup loop in this process (run `trashd cleanup`
    /// elsewhere instead).
    #[arg(long, env = "TRASHD_NO_CLEANUP")]
    pub no_cleanup: bool,

    /// After SIGINT/SIGTERM, how long requests in flight may take to finish
    /// before the process exits anyway.
    #[arg(
        long,
        env = "TRASHD_SHUTDOWN_TIMEOUT",
        default_value = "30s",
        value_parser = config::parse_timeout,
        value_name = "DURATION"
    )]
    pub shutdown_timeout: Duration,

    /// Serve Prometheus metrics at http://ADDR/metrics, on this separate
    /// listener (HOST:PORT). Off by default; never on the public port. Bind
    /// it where only your monitoring reaches it (e.g. 127.0.0.1:9090).
    #[arg(
        long,
        env = "TRASHD_METRICS_LISTEN",
        value_parser = parse_listen,
        value_name = "HOST:PORT"
    )]
    pub metrics_listen: Option<String>,

    /// The web Trash view's sign-in sessions.
    #[command(flatten)]
    pub web: WebArgs,

    /// How client connections are held.
    #[command(flatten)]
    pub connections: ConnectionArgs,

    /// Rate limits, and who may name the client.
    #[command(flatten)]
    pub rate_limits: RateLimitArgs,

    /// Outbound webhooks.
    #[command(flatten)]
    pub webhooks: WebhookArgs,
}

/// Rate limits, and who may name the client (see docs/operations.md).
#[derive(Debug, Clone, Args)]
pub struct RateLimitArgs {
    /// Requests per second one API key may make, with bursts of twice
    /// that; over it the answer is 429 with Retry-After. 0 turns it off.
    #[arg(
        long,
        env = "TRASHD_RATE_LIMIT",
        default_value_t = 50,
        value_name = "PER_SECOND"
    )]
    pub rate_limit: u32,

    /// Requests per second one client address (an IPv6 /64) may make, with
    /// bursts of twice that, on every route but /healthz and /readyz. 0
    /// turns it off.
    #[arg(
        long,
        env = "TRASHD_IP_RATE_LIMIT",
        default_value_t = 100,
        value_name = "PER_SECOND"
    )]
    pub ip_rate_limit: u32,

    /// Comma-separated CIDRs of the reverse proxies in front of trashd
    /// (e.g. 127.0.0.1/32,10.0.0.0/8). Only a peer in one of them may name
    /// the client with X-Forwarded-For; anyone else's header is ignored.
    #[arg(
        long,
        env = "TRASHD_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = parse_cidr,
        value_name = "CIDR,..."
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// A CIDR (`10.0.0.0/8`), or a lone address meaning just itself.
fn parse_cidr(value: &str) -> Result<ipnet::IpNet, String> {
    let value = value.trim();
    if let Ok(net) = value.parse::<ipnet::IpNet>() {
        return Ok(net.trunc());
    }
    value
        .parse::<std::net::IpAddr>()
        .map(ipnet::IpNet::from)
        .map_err(|_| format!("{value:?} is not a CIDR such as 10.0.0.0/8 or an address"))
}

/// How client connections are held (see docs/operations.md, "Facing the
/// network").
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// How long a client may take to send a complete request head, counted
    /// from when the server starts waiting for it (connection opened, or
    /// previous answer sent). Slower clients are disconnected.
    #[arg(
        long,
        env = "TRASHD_HEADER_READ_TIMEOUT",
        default_value = "10s",
        value_parser = config::parse_timeout,
        value_name = "DURATION"
    )]
    pub header_read_timeout: Duration,

    /// How long a connection with no request in flight may stay silent
    /// (a connection that never sends a request, an unused keep-alive
    /// connection) before it is closed. The header-read timeout also
    /// bounds it; the shorter wins.
    #[arg(
        long,
        env = "TRASHD_KEEP_ALIVE_TIMEOUT",
        default_value = "5s",
        value_parser = config::parse_timeout,
        value_name = "DURATION"
    )]
    pub keep_alive_timeout: Duration,

    /// Most client connections open at once. Further connections wait in
    /// the kernel's backlog until one closes. Lowered at start, with a
    /// warning, to stay below the open-file limit.
    #[arg(
        long,
        env = "TRASHD_MAX_CONNECTIONS",
        default_value_t = 4096,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000),
        value_name = "N"
    )]
    pub max_connections: u32,
}

/// Options of the web Trash view (`/app/`).
#[derive(Debug, Clone, Args)]
pub struct WebArgs {
    /// Secret that keys the web forms' CSRF tokens (at least 32
    /// characters). Give every replica the same one; without it a random
    /// one is used and forms loaded before a restart must be reloaded
    /// (sign-ins themselves are kept in the database and survive). Prefer
    /// the environment variable to keep it out of process listings.
    #[arg(
        long,
        env = "TRASHD_SESSION_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub session_secret: Option<String>,

    /// Mark cookies `Secure` and send HSTS even on a loopback address
    /// (they are by default on any other address).
    #[arg(
        long,
        env = "TRASHD_SECURE_COOKIES",
        conflicts_with = "insecure_cookies"
    )]
    pub secure_cookies: bool,

    /// Do not mark cookies `Secure` (nor send HSTS) on a non-loopback
    /// address: only for plain-HTTP test setups, since browsers would then
    /// send the session cookie unencrypted.
    #[arg(long, env = "TRASHD_INSECURE_COOKIES")]
    pub insecure_cookies: bool,

    /// How long a web sign-in lasts at most, used or not.
    #[arg(
        long,
        env = "TRASHD_SESSION_TTL",
        default_value = "12h",
        value_parser = config::parse_session_ttl,
        value_name = "DURATION"
    )]
    pub session_ttl: Duration,

    /// A web sign-in unused for this long ends.
    #[arg(
        long,
        env = "TRASHD_SESSION_IDLE",
        default_value = "2h",
        value_parser = config::parse_session_ttl,
        value_name = "DURATION"
    )]
    pub session_idle: Duration,
}

/// How the cleanup loop runs.
#[derive(Debug, Clone, Args)]
pub struct CleanupLoopArgs {
    /// Time between two cleanup rounds (e.g. 60s, 1s).
    #[arg(
        long,
        env = "TRASHD_CLEANUP_INTERVAL",
        default_value = "60s",
        value_parser = config::parse_interval,
        value_name = "DURATION"
    )]
    pub cleanup_interval: Duration,

    /// Trash operations claimed and purged per batch: one transaction each
    /// (bounds memory use and the length of a transaction).
    #[arg(
        long,
        env = "TRASHD_CLEANUP_BATCH",
        default_value_t = 500,
        value_parser = clap::value_parser!(u32).range(1..=1000),
        value_name = "N"
    )]
    pub cleanup_batch: u32,
}

/// Options of `cleanup`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Drain the backlog of due items, then exit. Without it, `cleanup` runs
    /// the cleanup loop until SIGINT/SIGTERM (a worker without the API).
    #[arg(long)]
    pub once: bool,

    /// How the cleanup loop runs.
    #[command(flatten)]
    pub cleanup: CleanupLoopArgs,
    /// Outbound webhooks (whether a global endpoint receives the
    /// cancellations the cleanup retries).
    #[command(flatten)]
    pub webhooks: WebhookArgs,
}

/// Options of `deliver`.
#[derive(Debug, Args)]
pub struct DeliverArgs {
    /// Deliver what is due now, then exit. Without it, `deliver` runs the
    /// delivery loop until SIGINT/SIGTERM (a worker without the API).
    #[arg(long)]
    pub once: bool,
    /// Outbound webhooks.
    #[command(flatten)]
    pub webhooks: WebhookArgs,
}

/// Options of the outbound webhooks.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Webhooks")]
pub struct WebhookArgs {
    /// An endpoint that receives every event of every workspace (messages
    /// signed per the Standard Webhooks specification).
    #[arg(long, env = "TRASHD_WEBHOOK_URL", value_name = "URL")]
    pub webhook_url: Option<String>,
    /// The secret of --webhook-url, `whsec_<base64>`. Prefer the
    /// environment variable to keep it out of process listings.
    #[arg(
        long,
        env = "TRASHD_WEBHOOK_SECRET",
        hide_env_values = true,
        value_name = "whsec_…"
    )]
    pub webhook_secret: Option<String>,
    /// How long before an item's scheduledCleanupAt the
    /// `trash.item.purge_soon` notice is sent (at trash time if that is
    /// already past).
    #[arg(
        long,
        env = "TRASHD_PURGE_NOTICE",
        default_value = "7d",
        value_parser = config::parse_purge_notice,
        value_name = "DURATION"
    )]
    pub purge_notice: Duration,
    /// The time limit of one delivery attempt.
    #[arg(
        long,
        env = "TRASHD_WEBHOOK_TIMEOUT",
        default_value = "10s",
        value_parser = config::parse_timeout,
        value_name = "DURATION"
    )]
    pub webhook_timeout: Duration,
    /// Time between two delivery rounds.
    #[arg(
        long,
        env = "TRASHD_DELIVER_INTERVAL",
        default_value = "1s",
        value_parser = config::parse_interval,
        value_name = "DURATION"
    )]
    pub deliver_interval: Duration,
    /// How long delivered and failed messages are kept (for
    /// `admin list-deliveries` and `redeliver`) before the delivery worker
    /// deletes them. Pending messages are never deleted.
    #[arg(
        long,
        env = "TRASHD_OUTBOX_RETENTION",
        default_value = "30d",
        value_parser = config::parse_outbox_retention,
        value_name = "DURATION"
    )]
    pub outbox_retention: Duration,
    /// Do not run the delivery worker in this process (run `trashd
    /// deliver` elsewhere instead).
    #[arg(long, env = "TRASHD_NO_DELIVERY")]
    pub no_delivery: bool,
}

/// `admin` subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a workspace.
    CreateWorkspace {
        /// The workspace slug (its `url`), e.g. `acme`.
        slug: String,
        /// A display name (defaults to the slug).
        #[arg(long)]
        name: Option<String>,
    },
    /// Create an API key and print it, alone, on stdout. It is stored only as
    /// a hash: it cannot be shown again.
    #[command(group(clap::ArgGroup::new("which_scopes").required(true).args(["scopes", "all_scopes"])))]
    CreateKey {
        /// The workspace the key belongs to.
        workspace: String,
        /// A name for people (shown as the deleter in the trash).
        #[arg(long, default_value = "api key")]
        name: String,
        /// Comma-separated scopes, e.g. project:read,project:update: project,
        /// version, workflow or training followed by :read, :create or
        /// :update, and trash:hold (place, list and release legal holds).
        #[arg(long, value_name = "SCOPE,...")]
        scopes: Option<String>,
        /// Every scope, trash:hold included.
        #[arg(long)]
        all_scopes: bool,
    },
    /// Revoke an API key by its id (printed when it was created).
    RevokeKey {
        /// The key id.
        key_id: String,
    },
    /// Create a web user. The password comes from TRASHD_PASSWORD or is asked
    /// for on the terminal without echo.
    CreateUser {
        /// The workspace the user belongs to.
        workspace: String,
        /// The user's e-mail (their sign-in name).
        email: String,
        /// The user's role: owners and admins may delete forever and empty the trash.
        #[arg(long, value_name = "ROLE")]
        role: RoleArg,
    },
    /// List the web users of a workspace (e-mail, role, id, created).
    ListUsers {
        /// The workspace.
        workspace: String,
    },
    /// Give a web user another role; ends their sessions at once.
    SetRole {
        /// The user's e-mail.
        email: String,
        /// The new role.
        #[arg(long, value_name = "ROLE")]
        role: RoleArg,
    },
    /// Set a web user's password (from TRASHD_PASSWORD or asked for on the
    /// terminal without echo); ends their sessions at once.
    ResetPassword {
        /// The user's e-mail.
        email: String,
    },
    /// Remove a web user; ends their sessions at once. What they trashed
    /// keeps their name as the deleter.
    RemoveUser {
        /// The user's e-mail.
        email: String,
    },
    /// Sign a web user out everywhere (end every session of theirs).
    RevokeSessions {
        /// The user's e-mail.
        email: String,
    },
    /// List the API keys of a workspace: id, name, scopes, created, last
    /// used, revoked. Keys are stored as hashes and never shown.
    ListKeys {
        /// The workspace.
        workspace: String,
    },
    /// List the job cancellations of a workspace that the job system has not
    /// confirmed yet (training, operation, failed attempts), claimed or not;
    /// the cleanup loop keeps retrying them.
    PendingCancellations {
        /// The workspace.
        workspace: String,
    },
    /// Register a webhook endpoint for a workspace; prints its id and a new
    /// `whsec_` secret, once.
    AddWebhook {
        /// The workspace whose events it receives.
        workspace: String,
        /// Where messages are posted (http:// or https://).
        url: String,
        /// Comma-separated event types (default: every event), e.g.
        /// trash.item.trashed,trash.item.restored.
        #[arg(long, value_name = "EVENT,...")]
        events: Option<String>,
    },
    /// List the webhook endpoints of a workspace.
    ListWebhooks {
        /// The workspace.
        workspace: String,
    },
    /// Remove a webhook endpoint.
    RemoveWebhook {
        /// The endpoint id.
        id: String,
    },
    /// Give an endpoint a new secret (printed once); the old one also signs
    /// for 24 hours.
    RotateWebhookSecret {
        /// The endpoint id.
        id: String,
    },
    /// List the outbound messages of a workspace and their delivery state.
    ListDeliveries {
        /// The workspace.
        workspace: String,
        /// Only the messages that failed for good.
        #[arg(long)]
        failed: bool,
    },
    /// Send a message again (pending, with a fresh 24-hour retry window).
    Redeliver {
        /// The message id (its webhook-id).
        id: String,
    },
}

/// A web user's role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// The workspace owner.
    Owner,
    /// An administrator.
    Admin,
    /// A member (may restore, may not delete forever).
    Member,
}

/// Options of `quickstart`.
#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// Slug of the demo workspace (reused if it exists).
    #[arg(
        long,
        env = "TRASHD_QUICKSTART_WORKSPACE",
        default_value = "demo",
        value_name = "SLUG"
    )]
    pub workspace: String,

    /// The options of `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl GlobalArgs {
    /// The parsed `--database-url`; a refused value is reported without
    /// its password.
    pub fn database_url(&self) -> Result<DatabaseUrl, crate::error::Failure> {
        DatabaseUrl::parse(&self.database_url_raw)
            .map_err(|e| crate::error::Failure::usage(format!("invalid --database-url: {e}")))
    }
}

fn parse_listen(value: &str) -> Result<String, String> {
    let value = value.trim();
    let bad = || format!("{value:?} is not HOST:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080");
    if value.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(value.to_owned());
    }
    let (host, port) = value.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || host.contains(['/', ' ', '[', ']']) || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("trashd").chain(args.iter().copied()))
    }

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_defaults() {
        let cli = parse(&["serve"]).unwrap();
        assert_eq!(
            cli.global.database_url().unwrap(),
            DatabaseUrl::Sqlite("sqlite://trashd.db".into())
        );
        let Command::Serve(s) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(s.listen, "127.0.0.1:8080");
        assert_eq!(s.retention, Retention::thirty_days());
        assert_eq!(s.cleanup.cleanup_interval, Duration::from_secs(60));
        assert_eq!(s.cleanup.cleanup_batch, 500);
        assert!(!s.no_cleanup);
        assert_eq!(s.connections.header_read_timeout, Duration::from_secs(10));
        assert_eq!(s.connections.keep_alive_timeout, Duration::from_secs(5));
        assert_eq!(s.connections.max_connections, 4096);
        assert_eq!(s.rate_limits.rate_limit, 50);
        assert_eq!(s.rate_limits.ip_rate_limit, 100);
        assert!(s.rate_limits.trusted_proxies.is_empty());
        assert_eq!(s.metrics_listen, None, "metrics are opt-in");
    }

    #[test]
    fn metrics_listen_is_a_separate_address() {
        let cli = parse(&["serve", "--metrics-listen", "127.0.0.1:9090"]).unwrap();
        let Command::Serve(s) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(s.metrics_listen.as_deref(), Some("127.0.0.1:9090"));
        assert_eq!(s.listen, "127.0.0.1:8080");
        assert!(parse(&["serve", "--metrics-listen", "9090"]).is_err());
    }

    #[test]
    fn options_parse_and_refuse() {
        let cli = parse(&[
            "serve",
            "--retention",
            "2s",
            "--cleanup-interval",
            "1s",
            "--listen",
            "localhost:0",
            "--database-url",
            "memory://",
        ])
        .unwrap();
        assert_eq!(cli.global.database_url().unwrap(), DatabaseUrl::Memory);
        let Command::Serve(s) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(s.retention.duration(), chrono::Duration::seconds(2));
        assert_eq!(s.cleanup.cleanup_interval, Duration::from_secs(1));

        for bad in [
            vec!["serve", "--retention", "soon"],
            vec!["serve", "--cleanup-interval", "0s"],
            vec!["serve", "--listen", "8080"],
            vec!["serve", "--max-connections", "0"],
            vec!["serve", "--trusted-proxies", "10.0.0.0/33"],
            vec!["serve", "--trusted-proxies", "proxy.local"],
            vec!["serve", "--rate-limit", "-1"],
            vec!["serve", "--header-read-timeout", "0s"],
            vec!["serve", "--keep-alive-timeout", "forever"],
            vec!["admin", "create-key", "ws"],
            vec!["admin", "create-key", "ws", "--scopes", "a", "--all-scopes"],
            vec!["admin", "create-user", "ws", "a@b.c", "--role", "root"],
        ] {
            assert!(parse(&bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse(&["admin", "create-key", "ws", "--all-scopes"]).is_ok());
        assert!(parse(&["admin", "pending-cancellations", "ws"]).is_ok());
        assert!(parse(&["admin", "set-role", "a@b.c", "--role", "member"]).is_ok());
        assert!(parse(&["admin", "set-role", "a@b.c"]).is_err());
        for cmd in [
            "list-users",
            "list-keys",
            "reset-password",
            "remove-user",
            "revoke-sessions",
        ] {
            assert!(parse(&["admin", cmd, "x"]).is_ok(), "{cmd}");
            assert!(parse(&["admin", cmd]).is_err(), "{cmd}");
        }
        assert!(parse(&["serve", "--secure-cookies", "--insecure-cookies"]).is_err());
        assert!(parse(&["admin", "pending-cancellations"]).is_err());
        let refused = parse(&["serve", "--database-url", "mysql://u:hunter2@x/y"])
            .unwrap()
            .global
            .database_url()
            .unwrap_err();
        assert_eq!(refused.code(), 2);
        assert!(!refused.message().contains("hunter2"), "{refused}");
        assert!(parse(&["cleanup", "--once", "--database-url", "memory://"]).is_ok());
        let cli = parse(&[
            "serve",
            "--trusted-proxies",
            "10.1.2.3/8, ::1",
            "--rate-limit",
            "0",
        ])
        .unwrap();
        let Command::Serve(s) = cli.command else {
            panic!("not serve")
        };
        let nets: Vec<String> = s
            .rate_limits
            .trusted_proxies
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(nets, ["10.0.0.0/8", "::1/128"]);
        assert_eq!(s.rate_limits.rate_limit, 0);
    }
}
