//! `mlgate remote add|list|remove|set-default`: where `push`, `pull` and `sync` go, kept in
//! `.mlgate/config.toml`. Credentials are never arguments: they come from the AWS chain.

use mlgate::remote::{RemoteBackend, RemoteSpec};
use mlgate::report::{Envelope, RemoteAdded, RemoteDefault, RemoteList, RemoteRemoved};
use mlgate::workspace::CommandKind;

use crate::cmd::context::Context;
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: RemoteCommand,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Backend {
    /// AWS S3 or an S3-compatible store (R2, B2, MinIO, Ceph).
    S3,
}

#[derive(clap::Subcommand)]
pub enum RemoteCommand {
    /// Add a remote: `mlgate remote add origin --backend s3 --bucket B`.
    Add {
        /// The remote's name, e.g. `origin`.
        name: String,
        #[arg(long, value_enum)]
        backend: Backend,
        /// The bucket.
        #[arg(long)]
        bucket: String,
        /// A path inside the bucket to keep mlgate's keys under.
        #[arg(long)]
        prefix: Option<String>,
        /// The region (default: AWS_REGION, the profile's, else us-east-1).
        #[arg(long)]
        region: Option<String>,
        /// An S3-compatible endpoint, e.g. https://s3.example.com (default: AWS).
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
        /// Accept an http:// endpoint (unencrypted: loopback or private test servers).
        #[arg(long)]
        allow_http: bool,
        /// Use this remote when --remote is not given.
        #[arg(long)]
        default: bool,
    },
    /// List the remotes.
    List,
    /// Remove a remote from the configuration (the server is not touched).
    Remove { name: String },
    /// Use NAME when --remote is not given.
    SetDefault { name: String },
}

impl Args {
    pub fn kind(&self) -> CommandKind {
        match self.command {
            RemoteCommand::Add { .. } => CommandKind::RemoteAdd,
            RemoteCommand::List => CommandKind::RemoteList,
            RemoteCommand::Remove { .. } => CommandKind::RemoteRemove,
            RemoteCommand::SetDefault { .. } => CommandKind::RemoteSetDefault,
        }
    }
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    match args.command {
        RemoteCommand::Add {
            name,
            backend,
            bucket,
            prefix,
            region,
            endpoint,
            allow_http,
            default,
        } => {
            let workspace = ctx.open_for_write()?;
            let spec = RemoteSpec {
                backend: match backend {
                    Backend::S3 => RemoteBackend::S3,
                },
                bucket,
                prefix,
                region,
                endpoint,
                allow_http,
                default,
            };
            let added = workspace.remote_add(&name, &spec)?;
            if json {
                render::print_json(&Envelope::new(RemoteAdded(added)))?;
            } else {
                println!("Added remote `{name}` ({})", location(&spec));
            }
        }
        RemoteCommand::List => {
            let workspace = ctx.open()?;
            let remotes = workspace.remotes()?;
            if json {
                render::print_json(&Envelope::new(RemoteList { remotes }))?;
            } else if remotes.is_empty() {
                println!("No remotes. `mlgate remote add NAME --backend s3 --bucket B` adds one.");
            } else {
                let mut t = view::table(&["REMOTE", "LOCATION", "REGION", "DEFAULT"]);
                for r in &remotes {
                    t.add_row(vec![
                        r.name.clone(),
                        location(&r.spec),
                        r.spec.region.clone().unwrap_or_else(|| "-".into()),
                        if r.spec.default { "yes" } else { "" }.to_string(),
                    ]);
                }
                println!("{}", view::render(&t));
            }
        }
        RemoteCommand::Remove { name } => {
            let workspace = ctx.open()?;
            let removed = workspace.remote_remove(&name)?;
            if json {
                render::print_json(&Envelope::new(RemoteRemoved(removed)))?;
            } else {
                println!("Removed remote `{name}` (nothing on the server was touched)");
            }
        }
        RemoteCommand::SetDefault { name } => {
            let workspace = ctx.open()?;
            let remote = workspace.remote_set_default(&name)?;
            if json {
                render::print_json(&Envelope::new(RemoteDefault(remote)))?;
            } else {
                println!("`{name}` is now the default remote");
            }
        }
    }
    Ok(Outcome::Success)
}

/// `s3://bucket/prefix` and the endpoint when not AWS.
fn location(spec: &RemoteSpec) -> String {
    let mut s = format!("s3://{}", spec.bucket);
    if let Some(p) = &spec.prefix {
        s.push('/');
        s.push_str(p);
    }
    if let Some(e) = &spec.endpoint {
        s.push_str(&format!(" at {e}"));
    }
    s
}
