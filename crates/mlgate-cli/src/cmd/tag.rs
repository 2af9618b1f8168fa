//! `mlgate tag create|list|delete`: names for builds. Moving a tag keeps its history.

use mlgate::report::{Envelope, TagCreate, TagDelete, TagList};
use mlgate::workspace::CommandKind;

use crate::cmd::context::Context;
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: TagCommand,
}

#[derive(clap::Subcommand)]
pub enum TagCommand {
    /// Tag a build: `mlgate tag create BUILD NAME`.
    Create {
        /// The build (tag, id or id prefix).
        build: String,
        /// The tag name, e.g. `main-mobilenet` or `v1.0.0`.
        name: String,
        /// Move the tag if it already points at another build.
        #[arg(long)]
        force: bool,
    },
    /// List the tags.
    List,
    /// Delete a tag (its history is kept; the build is untouched).
    Delete { name: String },
}

impl Args {
    pub fn kind(&self) -> CommandKind {
        match self.command {
            TagCommand::Create { .. } => CommandKind::TagCreate,
            TagCommand::List => CommandKind::TagList,
            TagCommand::Delete { .. } => CommandKind::TagDelete,
        }
    }
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    match args.command {
        TagCommand::Create { build, name, force } => {
            let workspace = ctx.open()?;
            let change = workspace.tag_create(&build, &name, force)?;
            if json {
                render::print_json(&Envelope::new(TagCreate(change)))?;
            } else if !change.changed {
                println!(
                    "Tag `{name}` already points at build {}",
                    view::short(&change.tag.build_id)
                );
            } else if let Some(prev) = &change.previous_build_id {
                println!(
                    "Moved tag `{name}` from build {} to {}",
                    view::short(prev),
                    view::short(&change.tag.build_id)
                );
            } else {
                println!(
                    "Tagged build {} as `{name}`",
                    view::short(&change.tag.build_id)
                );
            }
        }
        TagCommand::List => {
            let workspace = ctx.open()?;
            let tags = workspace.tags()?;
            if json {
                render::print_json(&Envelope::new(TagList { tags }))?;
            } else if tags.is_empty() {
                println!("No tags. `mlgate tag create BUILD NAME` adds one.");
            } else {
                let mut t = view::table(&["TAG", "BUILD", "NAME", "UPDATED"]);
                for e in &tags {
                    t.add_row(vec![
                        e.tag.name.clone(),
                        view::short(&e.tag.build_id).to_string(),
                        e.build_name.clone(),
                        view::ago(e.tag.updated_at),
                    ]);
                }
                println!("{}", view::render(&t));
            }
        }
        TagCommand::Delete { name } => {
            let workspace = ctx.open()?;
            let tag = workspace.tag_delete(&name)?;
            if json {
                render::print_json(&Envelope::new(TagDelete(tag)))?;
            } else {
                println!(
                    "Deleted tag `{name}` (was build {})",
                    view::short(&tag.build_id)
                );
            }
        }
    }
    Ok(Outcome::Success)
}
