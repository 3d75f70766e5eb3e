//! The command line, as clap types only: no behaviour lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Every environment a twin of the deployed one: each service's databases at their pinned
/// versions, with their schema and data, started and torn down as one.
#[derive(Debug, Parser)]
#[command(name = "dbtwin", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Machine output on stdout: JSON Lines events then a result object for long commands, one
    /// JSON document for the others.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing but results and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to use colours and progress bars on stderr.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// The environment to act on: a name, or `auto` to derive it from the git branch or the CI's
    /// branch variable.
    #[arg(long = "env", short = 'e', global = true, env = "DBTWIN_ENV", default_value = "default")]
    pub env: String,
    /// The host to publish ports on and connect to (default: 127.0.0.1, or the engine's host when
    /// DOCKER_HOST is tcp://).
    #[arg(long, global = true, env = "DBTWIN_HOST")]
    pub host: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Profile file(s); each later one applies over the earlier ones (after its own `extends`).
    #[arg(
        short = 'p',
        long = "profile",
        env = "DBTWIN_PROFILE",
        value_delimiter = ',',
        required = true
    )]
    pub profiles: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start every database of the profile, wait until each answers, and print their URLs.
    /// Idempotent: a second run reuses what is healthy and starts what is missing.
    Up(UpArgs),
    /// Remove an environment: its containers, volumes and network.
    Down(DownArgs),
    /// List environments and their databases, with age and health.
    Ls,
    /// Print the environment's connection URLs for the application.
    Env(EnvArgs),
    /// Run a command with the environment's URLs in its environment.
    Run(RunArgs),
    /// Print a database's server log.
    Logs(LogsArgs),
    /// Open the database's own client inside its container.
    Shell(ShellArgs),
    /// Apply pending migrations to the environment's databases (all, or the ones named).
    Migrate(MigrateArgs),
    /// Fill databases with synthetic data from their seed files: generated, deterministic from
    /// the seed, loaded through each engine's bulk path. A database is seeded once; `--reseed`
    /// empties and refills.
    Seed(SeedArgs),
    /// Check the masking plans of seed files that copy a production source: columns that look
    /// personal and have no rule, rules that do not fit, unique columns without a bijection.
    /// Copies nothing; exits 8 when a plan would stop `seed`.
    Mask(MaskArgs),
    /// Every database: server version vs pin, migrations applied/pending/changed, schema
    /// fingerprint and drift, tables and rows. `--check` exits 1 on any drift.
    Status(StatusArgs),
    /// Compare the schemas of two environments or database URLs (STAGE vs PROD). Exits 0 when
    /// they are the same, 1 when they differ.
    Diff(DiffArgs),
    /// Print the resolved profile after `extends` and overlays.
    Config(ConfigArgs),
}

/// An optional profile: commands that act on a running environment read its migrations from the
/// containers' labels, and take a profile only to use its current settings instead.
#[derive(Debug, Args)]
pub struct OptionalProfileArgs {
    /// Profile file(s) whose migrations to use instead of those the environment was created with.
    #[arg(short = 'p', long = "profile", env = "DBTWIN_PROFILE", value_delimiter = ',')]
    pub profiles: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub profile: OptionalProfileArgs,
    /// `SERVICE` or `SERVICE.DATABASE` (default: every database with migrations).
    pub targets: Vec<String>,
    /// Record the current checksums of applied migrations whose files changed, forget failed
    /// migrations so they run again, and accept a schema changed by hand as the new baseline.
    #[arg(long)]
    pub repair: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub profile: OptionalProfileArgs,
    /// `SERVICE` or `SERVICE.DATABASE` (default: every database of the environment).
    pub targets: Vec<String>,
    /// Look at databases by URL instead of an environment (STAGE, PROD); only reads. A missing
    /// password comes from PGPASSWORD / MYSQL_PWD / REDISCLI_AUTH.
    #[arg(long = "url", value_name = "URL")]
    pub urls: Vec<String>,
    /// The migrations folder to compare `--url` databases with.
    #[arg(long, value_name = "DIR", requires = "urls")]
    pub migrations: Option<PathBuf>,
    /// Exit 1 on any drift: pending or changed migrations, a version other than the pin, an
    /// unreachable database, a schema changed by hand.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// An environment name, `ENV:SERVICE.DATABASE`, or a database URL.
    pub a: String,
    /// An environment name, `ENV:SERVICE.DATABASE`, or a database URL.
    pub b: String,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// Replace databases whose engine, version or settings differ from the profile (their data
    /// is lost).
    #[arg(long)]
    pub recreate: bool,
    /// On failure, leave what this run created in place for debugging.
    #[arg(long)]
    pub keep_on_failure: bool,
    /// How long each database may take to answer, in seconds.
    #[arg(long, default_value_t = 180, value_name = "SECONDS")]
    pub ready_timeout: u64,
    /// Do not fill the databases (a later `dbtwin seed` can).
    #[arg(long)]
    pub no_data: bool,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    #[command(flatten)]
    pub profile: OptionalProfileArgs,
    /// `SERVICE` or `SERVICE.DATABASE` (default: every database with a seed file).
    pub targets: Vec<String>,
    /// Multiply every table's row count (0.1 for a tenth).
    #[arg(long, default_value_t = 1.0, value_name = "FACTOR")]
    pub rows_scale: f64,
    /// Empty the tables dbtwin fills and fill them again (a database is otherwise seeded once).
    #[arg(long)]
    pub reseed: bool,
}

#[derive(Debug, Args)]
pub struct MaskArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// `SERVICE` or `SERVICE.DATABASE` (default: every database whose seed file has a source).
    pub targets: Vec<String>,
    /// Only check (the one mode so far: copies are made by `up` and `seed`).
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Remove every dbtwin environment on this engine.
    #[arg(long)]
    pub all: bool,
    /// Keep the data volumes (a later `up` finds the data again).
    #[arg(long)]
    pub keep_volumes: bool,
    /// Remove it even while another dbtwin holds its lock (one left by a killed `up` on another
    /// machine cannot be told from a live one).
    #[arg(long)]
    pub force: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EnvFormat {
    /// `KEY=value` lines, for `.env` files.
    Dotenv,
    /// `export KEY='value'` lines, for `eval "$(dbtwin env --format shell)"`.
    Shell,
    /// One JSON object.
    Json,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[arg(long, value_enum, default_value_t = EnvFormat::Dotenv)]
    pub format: EnvFormat,
    /// Also print the admin URLs (`…_ADMIN_URL`).
    #[arg(long)]
    pub admin: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Also pass the admin URLs.
    #[arg(long)]
    pub admin: bool,
    /// The command and its arguments.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "CMD"
    )]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// `SERVICE` or `SERVICE.DATABASE`.
    pub target: String,
    /// Keep printing new lines.
    #[arg(short, long)]
    pub follow: bool,
    /// Only the last N lines.
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    /// `SERVICE` or `SERVICE.DATABASE`.
    pub target: String,
    /// Log in as the admin instead of the application's role.
    #[arg(long)]
    pub admin: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,
}
