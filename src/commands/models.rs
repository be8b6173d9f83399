//! `hearth models install|list`.

use crate::cli::ModelsCommand;
use crate::context::Context;
use anyhow::Result;
use hearth_embed::{ModelRole, ModelSpec, ModelStatus};
use serde_json::json;
use std::process::ExitCode;

pub fn run(ctx: &Context, cmd: ModelsCommand) -> Result<ExitCode> {
    match cmd {
        ModelsCommand::Install { names, all, force } => install(ctx, &names, all, force),
        ModelsCommand::List { json } => list(ctx, json),
    }
}

fn install(ctx: &Context, names: &[String], all: bool, force: bool) -> Result<ExitCode> {
    let specs: Vec<&ModelSpec> = if names.is_empty() {
        ctx.models()
            .catalog()
            .models
            .iter()
            .filter(|m| all || m.default)
            .collect()
    } else {
        names
            .iter()
            .map(|n| ctx.models().catalog().get(n))
            .collect::<Result<_, _>>()?
    };
    for spec in specs {
        eprintln!("{} ({:.0} MB)", spec.name, spec.size() as f64 / 1e6);
        let dir = ctx.models().install(spec, force)?;
        println!("{}: installed at {}", spec.name, dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn list(ctx: &Context, as_json: bool) -> Result<ExitCode> {
    let rows: Vec<(&ModelSpec, ModelStatus, std::path::PathBuf)> = ctx
        .models()
        .catalog()
        .models
        .iter()
        .map(|m| {
            (
                m,
                ctx.models().registry().status(m),
                ctx.models().registry().dir(m),
            )
        })
        .collect();
    if as_json {
        let value: Vec<_> = rows
            .iter()
            .map(|(m, status, dir)| {
                json!({
                    "name": m.name,
                    "role": role(m.role),
                    "default": m.default,
                    "size": m.size(),
                    "status": status_word(status),
                    "path": dir,
                    "description": m.description,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("models cache: {}", ctx.models().registry().root().display());
    println!(
        "{:<30} {:<10} {:>9}  {:<13} path",
        "name", "role", "size", "status"
    );
    for (m, status, dir) in &rows {
        let optional = if m.default { "" } else { " (optional, --all)" };
        println!(
            "{:<30} {:<10} {:>7.0}MB  {:<13} {}{optional}",
            m.name,
            role(m.role),
            m.size() as f64 / 1e6,
            status_word(status),
            dir.display()
        );
        if let ModelStatus::Corrupt(reason) = status {
            println!("    {reason}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn role(r: ModelRole) -> &'static str {
    match r {
        ModelRole::Embedding => "embedding",
        ModelRole::Generator => "generator",
    }
}

fn status_word(s: &ModelStatus) -> &'static str {
    match s {
        ModelStatus::Installed => "installed",
        ModelStatus::LocalPath => "local path",
        ModelStatus::Missing => "not installed",
        ModelStatus::Corrupt(_) => "CORRUPT",
    }
}
