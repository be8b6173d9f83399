//! `hearth eval run | routing | report | compare`: the runs are
//! `hearth_eval::runner`'s; this module passes the progress bars and prints
//! reports and comparisons.

use std::process::ExitCode;

use anyhow::Result;
use hearth_eval::report::{Report, compare};
use hearth_eval::runner::{self, EvalContext, run_dir};

use super::index::run_with_bars;
use crate::cli::EvalCommand;
use crate::context::Context;

pub fn run(ctx: &Context, cmd: EvalCommand) -> Result<ExitCode> {
    let eval = EvalContext {
        hearth: ctx,
        index: &|session, paths| run_with_bars(session, paths),
    };
    match cmd {
        EvalCommand::Run(args) => runner::run_suite(&eval, &args)?,
        EvalCommand::Routing(args) => runner::run_routing(&eval, &args)?,
        EvalCommand::Report(args) => {
            let dir = run_dir(&eval, args.run.as_deref())?;
            let report = Report::load(&dir, 42)?;
            let out = args.out.clone().unwrap_or_else(|| dir.clone());
            std::fs::create_dir_all(&out)?;
            std::fs::write(out.join("report.md"), report.markdown())?;
            std::fs::write(out.join("report.html"), report.html())?;
            print!("{}", report.markdown());
            println!(
                "\nwrote {} and {}",
                out.join("report.md").display(),
                out.join("report.html").display()
            );
        }
        EvalCommand::Compare(args) => {
            let before = Report::load(&run_dir(&eval, Some(&args.before))?, 42)?;
            let after = Report::load(&run_dir(&eval, Some(&args.after))?, 42)?;
            let rows = compare(&before, &after);
            anyhow::ensure!(!rows.is_empty(), "the two runs share no metric");
            if args.json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<22} {:>8} {:>15} {:>8}",
                    "metric", "before", "95% CI", "after"
                );
                for r in &rows {
                    println!(
                        "{:<22} {:>8.3} {:>15} {:>8.3}{}",
                        r.metric,
                        r.before,
                        format!("{:.3}–{:.3}", r.before_ci.0, r.before_ci.1),
                        r.after,
                        if r.regression { "  REGRESSION" } else { "" }
                    );
                }
            }
            if rows.iter().any(|r| r.regression) {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
