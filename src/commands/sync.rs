//! `hearth device …` and `hearth snapshot …`: this device's sync identity,
//! the devices it shares its index with, and encrypted snapshots to and from
//! a folder or an S3-compatible bucket. The work is `hearth-sync`'s; this
//! module resolves paths, opens the index's writer and prints.

use crate::context::Context;
use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use hearth_store::{Index, IndexWriter, StoreError};
use hearth_sync::{Keyring, SecretString, Target};
use std::path::PathBuf;
use std::process::ExitCode;

/// Environment variable a passphrase is read from before asking on the terminal.
pub const PASSPHRASE_ENV: &str = "HEARTH_SYNC_PASSPHRASE";

/// `hearth device …`.
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Create this device's key pair (age X25519; the secret key is stored
    /// readable by you only) and print its public key (`age1…`), which the
    /// other devices enroll with `hearth device add`.
    Init {
        /// How the other devices will know this one [default: the host name].
        #[arg(long)]
        name: Option<String>,
        /// Also create a recovery key protected by a passphrase (asked for on
        /// the terminal, or taken from HEARTH_SYNC_PASSPHRASE): snapshots are
        /// encrypted to it too, so a new device can read them with the
        /// passphrase alone.
        #[arg(long)]
        passphrase: bool,
    },
    /// Enroll another device: every later export is encrypted to it too.
    Add {
        /// A name for it (`phone`, `desktop`).
        name: String,
        /// Its public key, as `hearth device init` printed it there (`age1…`).
        public_key: String,
    },
    /// This device and the enrolled ones.
    List {
        #[arg(long)]
        json: bool,
    },
}

/// `hearth snapshot …`.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Write this device's index to a folder or `s3://bucket/prefix`,
    /// encrypted to every enrolled device; only what the target lacks is
    /// written. S3 settings come from the AWS_* environment variables.
    Export {
        /// A folder, or `s3://bucket[/prefix]`.
        #[arg(long)]
        to: String,
        #[arg(long)]
        json: bool,
    },
    /// Merge every other device's snapshot from a folder or bucket into this
    /// index, after decrypting and verifying all of it; a damaged, tampered
    /// or foreign snapshot is refused and the index left as it was.
    Import {
        /// A folder, or `s3://bucket[/prefix]`.
        #[arg(long)]
        from: String,
        /// Unlock the target's recovery key with its passphrase (a device no
        /// other device has enrolled yet).
        #[arg(long)]
        passphrase: bool,
        #[arg(long)]
        json: bool,
    },
    /// This device's keys, what it last exported and imported per target
    /// and, with `--target`, what every device last exported there and
    /// what is pending.
    Status {
        /// A folder, or `s3://bucket[/prefix]`, to read now.
        #[arg(long)]
        target: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// `<data-dir>/sync`: the keyring, sync state and import staging.
fn sync_dir(ctx: &Context) -> PathBuf {
    ctx.data().sync()
}

pub fn run_device(ctx: &Context, cmd: DeviceCommand) -> Result<ExitCode> {
    let dir = sync_dir(ctx);
    match cmd {
        DeviceCommand::Init { name, passphrase } => {
            let name = name.unwrap_or_else(host_name);
            let pass = if passphrase {
                Some(read_passphrase("recovery passphrase", true)?)
            } else {
                None
            };
            let keys = Keyring::init(&dir, &name, pass)?;
            eprintln!(
                "device `{name}` initialised; its secret key is in {} (keep it private, back it up)",
                dir.join("identity.txt").display()
            );
            if let Some(rec) = keys.recovery_key() {
                eprintln!("recovery key {rec} (unlocked by the passphrase)");
            }
            eprintln!("enroll it on your other devices with:");
            eprintln!("  hearth device add {name} {}", keys.public_key());
            println!("{}", keys.public_key());
        }
        DeviceCommand::Add { name, public_key } => {
            let mut keys = Keyring::open(&dir)?;
            keys.add_device(&name, &public_key)?;
            println!(
                "enrolled `{name}`: exports from now on are encrypted to {} device(s){}",
                keys.devices().len(),
                if keys.recovery_key().is_some() {
                    " and the recovery key"
                } else {
                    ""
                }
            );
        }
        DeviceCommand::List { json } => {
            let keys = Keyring::open(&dir)?;
            if json {
                println!("{}", serde_json::to_string_pretty(keys.devices())?);
            } else {
                for d in keys.devices() {
                    println!(
                        "{:<16} {} {}{}",
                        d.name,
                        d.public_key,
                        super::date(Some(d.added_at)),
                        if d.this_device { "  (this device)" } else { "" }
                    );
                }
                if let Some(rec) = keys.recovery_key() {
                    println!("{:<16} {rec}", "recovery key");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_snapshot(ctx: &Context, cmd: SnapshotCommand) -> Result<ExitCode> {
    let dir = sync_dir(ctx);
    match cmd {
        SnapshotCommand::Export { to, json } => {
            let keys = Keyring::open(&dir)?;
            let target = Target::open(&to)?;
            let mut index = match Index::open_writer(&ctx.data().index()) {
                Err(StoreError::NoIndex(_)) => bail!("nothing to export: index something first"),
                other => other?,
            };
            let report = hearth_sync::export(&mut index, &keys, &target, &dir)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "exported `{}` to {}: {} segments, {} objects written ({:.2} MB encrypted from {:.2} MB), {} already there; snapshot version {}",
                    keys.name(),
                    report.target,
                    report.segments,
                    report.objects_written,
                    report.bytes_written as f64 / 1e6,
                    report.plain_bytes_written as f64 / 1e6,
                    report.objects_present,
                    report.snapshot_version
                );
            }
        }
        SnapshotCommand::Import {
            from,
            passphrase,
            json,
        } => {
            let mut keys = Keyring::open(&dir)?;
            let target = Target::open(&from)?;
            if passphrase {
                keys.unlock_recovery_from(&target, read_passphrase("recovery passphrase", false)?)?;
            }
            let mut index = open_for_import(ctx, &keys, &target)?;
            let report = hearth_sync::import(&mut index, &keys, &target, &dir)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "imported snapshot version {} from {}: {} from {} device(s) [{}], {} segments and {} deletions added, {:.2} MB fetched; documents {} → {}",
                    report.snapshot_version,
                    report.target,
                    report.objects_fetched,
                    report.devices.len(),
                    report.devices.join(", "),
                    report.segments_added,
                    report.tombstones_added,
                    report.bytes_fetched as f64 / 1e6,
                    report.documents_before,
                    report.documents_after
                );
                for name in &report.skipped {
                    println!(
                        "skipped `{name}`: its export is not encrypted to this device (enroll this device there with `hearth device add`, then export again there)"
                    );
                }
            }
        }
        SnapshotCommand::Status { target, json } => {
            let keys = Keyring::open(&dir)?;
            let target = target.as_deref().map(Target::open).transpose()?;
            let index = Index::open(&ctx.data().index()).context("no index yet")?;
            let status = hearth_sync::status(&index, &keys, &dir, target.as_ref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_status(&status);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The local index, or — on a device that has none yet — a new one with the
/// embedding model the snapshot's devices index with.
fn open_for_import(ctx: &Context, keys: &Keyring, target: &Target) -> Result<IndexWriter> {
    let dir = ctx.data().index();
    match Index::open_writer(&dir) {
        Ok(index) => Ok(index),
        Err(StoreError::NoIndex(_)) => {
            let snapshot = hearth_sync::read_snapshot(keys, target)?.with_context(|| {
                format!("no snapshot at {} (export one first)", target.display())
            })?;
            let Some(head) = snapshot.devices.values().next() else {
                bail!("the snapshot at {} holds no device", target.display());
            };
            Ok(Index::create_writer(&dir, &head.index.embedding)?)
        }
        Err(e) => Err(e.into()),
    }
}

fn print_status(status: &hearth_sync::SyncStatus) {
    println!(
        "this device: `{}` ({}), index version {}",
        status.device_name, status.public_key, status.index_version
    );
    let others: Vec<&str> = status
        .enrolled
        .iter()
        .filter(|d| !d.this_device)
        .map(|d| d.name.as_str())
        .collect();
    println!(
        "enrolled: {}{}",
        if others.is_empty() {
            "no other device".to_owned()
        } else {
            others.join(", ")
        },
        if status.recovery_key.is_some() {
            " + recovery key"
        } else {
            ""
        }
    );
    for (name, t) in &status.targets {
        let export = t.last_export.as_ref().map_or("never".to_owned(), |e| {
            format!(
                "{} (index version {})",
                super::format_time(Some(e.at), "%Y-%m-%d %H:%M"),
                e.index_version
            )
        });
        let import = t.last_import.as_ref().map_or("never".to_owned(), |i| {
            format!(
                "{} (+{} segments, +{} deletions)",
                super::format_time(Some(i.at), "%Y-%m-%d %H:%M"),
                i.segments_added,
                i.tombstones_added
            )
        });
        println!("{name}: last export {export}; last import {import}");
    }
    if let Some(t) = &status.target {
        println!(
            "{} now: snapshot version {}{}",
            t.target,
            t.snapshot_version,
            if t.export_pending {
                ", local changes pending export"
            } else {
                ", local index exported"
            }
        );
        for h in &t.heads {
            println!(
                "  {:<16} exported {}: {} segments, {} document rows, {} deletions{}",
                h.name,
                super::format_time(Some(h.exported_at), "%Y-%m-%d %H:%M"),
                h.segments,
                h.document_rows,
                h.tombstones,
                if h.this_device {
                    "  (this device)"
                } else if h.import_pending {
                    "  — import pending"
                } else {
                    "  — imported"
                }
            );
        }
    }
}

/// The passphrase from HEARTH_SYNC_PASSPHRASE, else asked on the terminal
/// (twice when `confirm`), else read as one line of standard input.
fn read_passphrase(what: &str, confirm: bool) -> Result<SecretString> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        if p.is_empty() {
            bail!("{PASSPHRASE_ENV} is empty");
        }
        return Ok(SecretString::from(p));
    }
    let first = match rpassword::prompt_password(format!("{what}: ")) {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the passphrase from standard input")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if first.is_empty() {
        bail!("an empty passphrase protects nothing");
    }
    if confirm
        && let Ok(again) = rpassword::prompt_password(format!("{what} again: "))
        && again != first
    {
        bail!("the two passphrases differ");
    }
    Ok(SecretString::from(first))
}

/// This machine's host name, the default device name.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this-device".into())
}
