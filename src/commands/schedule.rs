//! `hearth schedule install|uninstall|status`.

use crate::cli::ScheduleCommand;
use crate::context::Context;
use anyhow::{Context as _, Result};
use hearth_ingest::{Schedule, ScheduleTarget, parse_interval};
use std::process::ExitCode;

pub fn run(ctx: &Context, cmd: ScheduleCommand) -> Result<ExitCode> {
    let config = dirs::config_dir().context("no config directory (set XDG_CONFIG_HOME)")?;
    let home = dirs::home_dir().context("no home directory")?;
    let mut target = ScheduleTarget::for_this_os(&config, &home);
    match cmd {
        ScheduleCommand::Install {
            interval,
            no_activate,
        } => {
            target.activate = !no_activate;
            let exe = std::env::current_exe()?.canonicalize()?;
            std::fs::create_dir_all(ctx.data().root())?;
            let data_dir = ctx.data().root().canonicalize()?;
            let schedule = Schedule {
                exe,
                data_dir,
                interval: parse_interval(&interval)?,
            };
            let (files, said) = target.install(&schedule)?;
            for f in files {
                println!("wrote {}", f.display());
            }
            for line in said {
                println!("{line}");
            }
            println!("`hearth index` will run every {interval} (missed runs are caught up)");
        }
        ScheduleCommand::Uninstall { no_activate } => {
            target.activate = !no_activate;
            let (removed, said) = target.uninstall()?;
            for line in said {
                println!("{line}");
            }
            if removed.is_empty() {
                println!("no schedule was installed");
            }
            for f in removed {
                println!("removed {}", f.display());
            }
        }
        ScheduleCommand::Status => {
            let files = target.files();
            let installed = files.iter().all(|f| f.exists());
            println!(
                "schedule: {}",
                if installed {
                    "installed"
                } else {
                    "not installed"
                }
            );
            for f in files {
                println!("  {} {}", if f.exists() { "✓" } else { "✗" }, f.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
