use crate::cmd::context::Context;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {}

/// Exit 0 when the embedded default backend works; a missing optional runtime is reported
/// with the command that installs it, not as a failure. When the default backend does not
/// work: exit 2 with the reason (after the table, or as the `--json` error report).
pub fn run(_args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    let doctor = mlgate::runtime::doctor(&ctx.runtimes);
    let works = mlgate::runtime::check_default_backend(&doctor);
    if json {
        works?;
        render::print_json(&mlgate::report::DoctorReport::new(doctor))?;
    } else {
        print!("{}", render::doctor(&doctor));
        works?;
    }
    Ok(Outcome::Success)
}
