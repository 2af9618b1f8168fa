//! `mlgate budget set|show|clear|validate`: absolute limits in `.mlgate/budget.toml`,
//! meant to be committed. A flag beats the file, the file beats nothing, and every check
//! says where its limit came from.

use mlgate::report::Envelope;
use mlgate::workspace::{
    Budget, BudgetCheck, BudgetState, BudgetUpdate, CheckStatus, CommandKind, Constraint,
};

use crate::cmd::context::{self, Context};
use crate::cmd::view;
use crate::render;
use crate::Outcome;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<BudgetCommand>,
}

/// The four constraints as flags.
#[derive(clap::Args, Default)]
pub struct Limits {
    /// Max latency, p50, ms.
    #[arg(long = "max-latency", allow_negative_numbers = true, value_name = "MS")]
    pub max_latency: Option<f64>,
    /// Max latency, p95, ms.
    #[arg(long = "max-p95", allow_negative_numbers = true, value_name = "MS")]
    pub max_p95: Option<f64>,
    /// Max peak memory, MB.
    #[arg(long = "max-memory", allow_negative_numbers = true, value_name = "MB")]
    pub max_memory: Option<f64>,
    /// Max model size on disk, MB (10^6 bytes).
    #[arg(long = "max-size", allow_negative_numbers = true, value_name = "MB")]
    pub max_size: Option<f64>,
}

impl Limits {
    fn budget(&self) -> Budget {
        Budget {
            max_latency_ms: self.max_latency,
            max_p95_ms: self.max_p95,
            max_memory_mb: self.max_memory,
            max_size_mb: self.max_size,
        }
    }
}

#[derive(clap::Subcommand)]
pub enum BudgetCommand {
    /// Set constraints; the ones not given keep their value.
    Set(Limits),
    /// Show the budget (the default).
    Show,
    /// Remove one constraint (`--constraint max-latency`) or all of them.
    Clear {
        /// max-latency, max-p95, max-memory or max-size.
        #[arg(long)]
        constraint: Option<String>,
        /// Do not ask before removing all constraints.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Apply the budget to a build without benchmarking: size now, latency and memory from
    /// its latest benchmark. Exit 1 when a constraint is exceeded.
    Validate {
        /// The build (tag, id or id prefix).
        build: String,
        #[command(flatten)]
        limits: Limits,
    },
}

impl Args {
    pub fn kind(&self) -> CommandKind {
        match self.command {
            None | Some(BudgetCommand::Show) => CommandKind::BudgetShow,
            Some(BudgetCommand::Set(_)) => CommandKind::BudgetSet,
            Some(BudgetCommand::Clear { .. }) => CommandKind::BudgetClear,
            Some(BudgetCommand::Validate { .. }) => CommandKind::BudgetValidate,
        }
    }
}

pub fn run(args: Args, ctx: &Context) -> mlgate::Result<Outcome> {
    let json = ctx.json;
    match args.command.unwrap_or(BudgetCommand::Show) {
        BudgetCommand::Show => {
            let state = ctx.open()?.budget()?;
            show(state, json)?;
        }
        BudgetCommand::Set(limits) => {
            let update = BudgetUpdate::new(limits.budget())?;
            let state = ctx.open_for_write()?.budget_set(&update)?;
            show(state, json)?;
        }
        BudgetCommand::Clear { constraint, yes } => {
            let workspace = ctx.open()?;
            let constraint = constraint
                .as_deref()
                .map(Constraint::parse)
                .transpose()
                .map_err(mlgate::Error::from)?;
            if constraint.is_none()
                && !context::confirm("Remove every budget constraint?", yes, "--yes")?
            {
                return context::cancelled(json);
            }
            let state = workspace.budget_clear(constraint)?;
            show(state, json)?;
        }
        BudgetCommand::Validate { build, limits } => {
            let check = ctx.open()?.budget_validate(&build, &limits.budget())?;
            let failed = check.failed();
            if json {
                render::print_json(&Envelope::new(check))?;
            } else {
                print!("{}", validation(&check));
            }
            if failed {
                return Ok(Outcome::Failed);
            }
        }
    }
    Ok(Outcome::Success)
}

fn value(c: Constraint, v: f64) -> String {
    format!("{v} {}", c.unit())
}

fn show(state: BudgetState, json: bool) -> mlgate::Result<()> {
    if json {
        return render::print_json(&Envelope::new(state));
    }
    if state.budget.is_empty() {
        println!(
            "No budget constraints ({}). `mlgate budget set --max-latency 10 --max-size 8` sets some.",
            state.path.display()
        );
        return Ok(());
    }
    println!("Budget {}", state.path.display());
    let mut t = view::table(&[]);
    for c in Constraint::ALL {
        if let Some(v) = state.budget.get(c) {
            t.add_row(vec![format!("  {}", c.description()), value(c, v)]);
        }
    }
    view::right_align(&mut t, &[1]);
    println!("{}", view::render(&t));
    Ok(())
}

pub fn validation(check: &BudgetCheck) -> String {
    let b = &check.build;
    let mut out = format!(
        "Budget check of build {}  {} ({})\n",
        view::short(&b.id),
        b.name,
        match &check.latest {
            Some(m) => format!(
                "latest benchmark {}, {}, n={}",
                view::ago(m.created_at),
                m.backend,
                m.n
            ),
            None => "no benchmark yet".into(),
        }
    );
    if check.checks.is_empty() {
        out.push_str(
            "No constraints: set some with `mlgate budget set` or pass --max-latency ...\n",
        );
        return out;
    }
    let mut t = view::table(&["  CONSTRAINT", "LIMIT", "ACTUAL", "RESULT", "SOURCE"]);
    for c in &check.checks {
        let result = match c.status {
            CheckStatus::Pass => "pass".to_string(),
            CheckStatus::Pending => "pending (benchmark first)".to_string(),
            CheckStatus::Fail => {
                let actual = c.actual.unwrap_or(0.0);
                format!(
                    "FAIL +{:.2} ({:.1}% over)",
                    actual - c.limit,
                    (actual - c.limit) / c.limit * 100.0
                )
            }
        };
        t.add_row(vec![
            format!("  {}", c.constraint.key()),
            value(c.constraint, c.limit),
            c.actual
                .map(|a| format!("{a:.2} {}", c.constraint.unit()))
                .unwrap_or_else(|| "—".into()),
            result,
            c.source.to_string(),
        ]);
    }
    view::right_align(&mut t, &[1, 2]);
    out.push_str(&view::render(&t));
    out.push('\n');
    out
}
