use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {}

/// Exit 0 when the embedded default backend works; a missing optional runtime is reported
/// with the command that installs it, not as a failure.
pub fn run(_args: Args, json: bool) -> mlgate::Result<Outcome> {
    let doctor = mlgate::runtime::doctor();
    let ok = mlgate::runtime::default_backend_works(&doctor);
    if json {
        render::print_json(&mlgate::report::DoctorReport::new(doctor));
    } else {
        print!("{}", render::doctor(&doctor));
    }
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::Problems
    })
}
