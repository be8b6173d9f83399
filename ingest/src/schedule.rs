//! Scheduled indexing: a systemd user service + timer on Linux, a launchd agent
//! on macOS, each running `hearth index` as a low-priority oneshot job.

use crate::error::IngestError;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Base name of the generated units / agent label.
pub const UNIT_NAME: &str = "hearth-index";
/// The launchd agent's label.
pub const LAUNCHD_LABEL: &str = "org.hearth.index";

/// What to schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The `hearth` executable (absolute).
    pub exe: PathBuf,
    /// The data directory the job indexes into (absolute).
    pub data_dir: PathBuf,
    /// How often to run.
    pub interval: Duration,
}

/// Parses `15m`, `1h`, `90s`, `2d` (at least one minute).
///
/// ```
/// use hearth_ingest::parse_interval;
/// assert_eq!(parse_interval("15m").unwrap().as_secs(), 900);
/// assert!(parse_interval("10s").is_err());
/// ```
pub fn parse_interval(text: &str) -> Result<Duration, IngestError> {
    let text = text.trim();
    let bad = || {
        IngestError::BadSource(format!(
            "interval `{text}`: use e.g. 15m, 1h, 1d (at least 1m)"
        ))
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" | "min" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(bad()),
    };
    if secs < 60 {
        return Err(bad());
    }
    Ok(Duration::from_secs(secs))
}

impl Schedule {
    fn exec_args(&self) -> Vec<String> {
        vec![
            self.exe.display().to_string(),
            "--data-dir".into(),
            self.data_dir.display().to_string(),
            "index".into(),
        ]
    }

    /// systemd `OnCalendar=` for the interval where one exists, so that
    /// `Persistent=true` catches up runs missed while the machine was off.
    fn on_calendar(&self) -> String {
        let secs = self.interval.as_secs();
        let (m, h) = (secs / 60, secs / 3600);
        if secs == 86_400 {
            "daily".into()
        } else if secs.is_multiple_of(3600) && 24u64.is_multiple_of(h) {
            format!("*-*-* 0/{h}:00:00")
        } else if secs.is_multiple_of(60) && m < 60 && 60u64.is_multiple_of(m) {
            format!("*-*-* *:0/{m}:00")
        } else {
            // Not a calendar event: an hourly event for catch-up after downtime,
            // plus OnUnitInactiveSec (see `systemd_units`) for the real cadence.
            "hourly".into()
        }
    }

    /// The service and timer unit files, in that order.
    pub fn systemd_units(&self) -> (String, String) {
        let quoted: Vec<String> = self.exec_args().iter().map(|a| systemd_quote(a)).collect();
        let service = format!(
            "[Unit]\nDescription=Hearth: update the personal index\n\n\
             [Service]\nType=oneshot\nExecStart={}\nNice=10\nIOSchedulingClass=idle\nEnvironment=HEARTH_LOG=info\n",
            quoted.join(" ")
        );
        let secs = self.interval.as_secs();
        let delay = (secs / 10).clamp(30, 600);
        let on_calendar = self.on_calendar();
        let extra = if on_calendar == "hourly" && secs != 3600 {
            format!("OnUnitInactiveSec={secs}s\n")
        } else {
            String::new()
        };
        let timer = format!(
            "[Unit]\nDescription=Hearth: update the personal index every {}\n\n\
             [Timer]\nOnCalendar={on_calendar}\n{extra}Persistent=true\nRandomizedDelaySec={delay}s\nUnit={UNIT_NAME}.service\n\n\
             [Install]\nWantedBy=timers.target\n",
            human(self.interval)
        );
        (service, timer)
    }

    /// The launchd agent property list.
    pub fn launchd_plist(&self) -> String {
        let args: String = self
            .exec_args()
            .iter()
            .map(|a| format!("    <string>{}</string>\n", xml_escape(a)))
            .collect();
        let log = self.data_dir.join("schedule.log");
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
             <plist version=\"1.0\">\n<dict>\n  <key>Label</key>\n  <string>{LAUNCHD_LABEL}</string>\n\
             \x20 <key>ProgramArguments</key>\n  <array>\n{args}  </array>\n\
             \x20 <key>StartInterval</key>\n  <integer>{}</integer>\n\
             \x20 <key>RunAtLoad</key>\n  <true/>\n  <key>ProcessType</key>\n  <string>Background</string>\n\
             \x20 <key>LowPriorityIO</key>\n  <true/>\n  <key>Nice</key>\n  <integer>10</integer>\n\
             \x20 <key>StandardOutPath</key>\n  <string>{}</string>\n  <key>StandardErrorPath</key>\n  <string>{}</string>\n\
             </dict>\n</plist>\n",
            self.interval.as_secs(),
            xml_escape(&log.display().to_string()),
            xml_escape(&log.display().to_string())
        )
    }
}

/// Where the generated files go and whether the service manager is told.
#[derive(Debug, Clone)]
pub struct ScheduleTarget {
    /// `~/.config/systemd/user` or `~/Library/LaunchAgents`.
    pub dir: PathBuf,
    /// Which service manager the files are written for.
    pub kind: SchedulerKind,
    /// Run `systemctl --user` / `launchctl` after writing.
    pub activate: bool,
}

/// Which service manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedulerKind {
    /// A systemd user service and timer (Linux).
    Systemd,
    /// A launchd user agent (macOS).
    Launchd,
}

impl ScheduleTarget {
    /// The usual place for this OS, under `config_home` (Linux) or `home` (macOS).
    pub fn for_this_os(config_home: &Path, home: &Path) -> Self {
        if cfg!(target_os = "macos") {
            Self {
                dir: home.join("Library/LaunchAgents"),
                kind: SchedulerKind::Launchd,
                activate: true,
            }
        } else {
            Self {
                dir: config_home.join("systemd/user"),
                kind: SchedulerKind::Systemd,
                activate: true,
            }
        }
    }

    /// The files this target writes.
    pub fn files(&self) -> Vec<PathBuf> {
        match self.kind {
            SchedulerKind::Systemd => vec![
                self.dir.join(format!("{UNIT_NAME}.service")),
                self.dir.join(format!("{UNIT_NAME}.timer")),
            ],
            SchedulerKind::Launchd => vec![self.dir.join(format!("{LAUNCHD_LABEL}.plist"))],
        }
    }

    /// Writes the units (atomically) and, if asked, enables them. Returns the
    /// files written and what the service manager said.
    pub fn install(&self, schedule: &Schedule) -> Result<(Vec<PathBuf>, Vec<String>), IngestError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |e: std::io::Error| IngestError::BadSource(format!("{}: {e}", path.display()))
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let files = self.files();
        let contents = match self.kind {
            SchedulerKind::Systemd => {
                let (service, timer) = schedule.systemd_units();
                vec![service, timer]
            }
            SchedulerKind::Launchd => vec![schedule.launchd_plist()],
        };
        for (path, text) in files.iter().zip(&contents) {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, text).map_err(io(&tmp))?;
            std::fs::rename(&tmp, path).map_err(io(path))?;
        }
        let mut said = Vec::new();
        if self.activate {
            let plist = files[0].display().to_string();
            let timer = format!("{UNIT_NAME}.timer");
            let steps: Vec<Vec<&str>> = match self.kind {
                SchedulerKind::Systemd => vec![
                    vec!["systemctl", "--user", "daemon-reload"],
                    vec!["systemctl", "--user", "enable", "--now", &timer],
                ],
                SchedulerKind::Launchd => vec![
                    vec!["launchctl", "unload", &plist],
                    vec!["launchctl", "load", "-w", &plist],
                ],
            };
            for step in steps {
                said.push(run(&step));
            }
        }
        Ok((files, said))
    }

    /// Disables and deletes the units; returns the files removed.
    pub fn uninstall(&self) -> Result<(Vec<PathBuf>, Vec<String>), IngestError> {
        let mut said = Vec::new();
        if self.activate {
            match self.kind {
                SchedulerKind::Systemd => said.push(run(&[
                    "systemctl",
                    "--user",
                    "disable",
                    "--now",
                    &format!("{UNIT_NAME}.timer"),
                ])),
                SchedulerKind::Launchd => said.push(run(&[
                    "launchctl",
                    "unload",
                    &self.files()[0].display().to_string(),
                ])),
            }
        }
        let mut removed = Vec::new();
        for f in self.files() {
            if std::fs::remove_file(&f).is_ok() {
                removed.push(f);
            }
        }
        if self.activate && self.kind == SchedulerKind::Systemd {
            said.push(run(&["systemctl", "--user", "daemon-reload"]));
        }
        Ok((removed, said))
    }
}

/// Runs a service-manager command, describing the outcome rather than failing:
/// the unit files are written either way and the user can enable them by hand.
fn run(args: &[&str]) -> String {
    match Command::new(args[0]).args(&args[1..]).output() {
        Ok(out) if out.status.success() => format!("`{}`: ok", args.join(" ")),
        Ok(out) => format!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("`{}` not run: {e}", args.join(" ")),
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(86_400) {
        format!("{}d", s / 86_400)
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Quotes an argument for `ExecStart=` (systemd splits on whitespace; `%` and
/// `$` are specifiers).
fn systemd_quote(arg: &str) -> String {
    let escaped = arg
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
        .replace('$', "$$");
    if escaped.contains(char::is_whitespace) || escaped.is_empty() {
        format!("\"{escaped}\"")
    } else {
        escaped
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(interval: &str) -> Schedule {
        Schedule {
            exe: "/opt/hearth bin/hearth".into(),
            data_dir: "/home/me/.local/share/hearth".into(),
            interval: parse_interval(interval).unwrap(),
        }
    }

    #[test]
    fn systemd_units_for_common_intervals() {
        let (service, timer) = schedule("1h").systemd_units();
        assert!(service.contains("Type=oneshot"));
        assert!(
            service.contains(
                "ExecStart=\"/opt/hearth bin/hearth\" --data-dir /home/me/.local/share/hearth index"
            ),
            "{service}"
        );
        assert!(timer.contains("OnCalendar=*-*-* 0/1:00:00"), "{timer}");
        assert!(
            timer.contains("Persistent=true") && timer.contains("RandomizedDelaySec=360s"),
            "{timer}"
        );
        assert!(timer.contains("WantedBy=timers.target"));
        assert!(
            schedule("15m")
                .systemd_units()
                .1
                .contains("OnCalendar=*-*-* *:0/15:00")
        );
        assert!(
            schedule("1d")
                .systemd_units()
                .1
                .contains("OnCalendar=daily")
        );
        let odd = schedule("7m").systemd_units().1;
        assert!(odd.contains("OnUnitInactiveSec=420s"), "{odd}");
    }

    #[test]
    fn launchd_plist_is_well_formed() {
        let plist = schedule("30m").launchd_plist();
        assert!(
            plist.contains("<key>StartInterval</key>\n  <integer>1800</integer>"),
            "{plist}"
        );
        assert!(plist.contains("<string>/opt/hearth bin/hearth</string>"));
        assert_eq!(
            plist.matches("<dict>").count(),
            plist.matches("</dict>").count()
        );
        assert_eq!(plist.matches("<array>").count(), 1);
    }

    #[test]
    fn install_and_uninstall_write_and_remove_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = ScheduleTarget {
            dir: dir.path().join("systemd/user"),
            kind: SchedulerKind::Systemd,
            activate: false,
        };
        let (files, said) = target.install(&schedule("1h")).unwrap();
        assert_eq!(files.len(), 2);
        assert!(said.is_empty());
        assert!(
            std::fs::read_to_string(&files[1])
                .unwrap()
                .contains("[Timer]")
        );
        let (removed, _) = target.uninstall().unwrap();
        assert_eq!(removed, files);
        assert!(!files[0].exists());
    }

    #[test]
    fn intervals_parse_and_reject_nonsense() {
        assert_eq!(parse_interval("2h").unwrap().as_secs(), 7200);
        assert_eq!(parse_interval("90s").unwrap().as_secs(), 90);
        for bad in ["", "h", "5x", "30s", "-1h"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
