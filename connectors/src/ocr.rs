//! Optical character recognition through programs from the OS packages:
//! Tesseract reads an image (`tesseract IMAGE stdout tsv`, words regrouped
//! into its lines and paragraphs), and poppler's `pdftoppm` renders a PDF
//! page without a text layer into an image for it. Each program runs as a
//! child process under a time limit and is killed past it, so a hostile
//! image or page costs at most that long. Both are found once per process
//! (`$HEARTH_TESSERACT` and `$HEARTH_PDFTOPPM` override the PATH lookup).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The package that provides the `tesseract` program on Debian and Ubuntu.
pub const TESSERACT_PACKAGE: &str = "tesseract-ocr";

/// The package that provides `pdftoppm` on Debian and Ubuntu.
pub const POPPLER_PACKAGE: &str = "poppler-utils";

/// What reading an image needs, for messages.
pub(crate) const NEEDS_TESSERACT: &str =
    "the `tesseract` program (install the `tesseract-ocr` package)";

/// What reading a scanned PDF page needs, for messages.
pub(crate) const NEEDS_PDF_OCR: &str = "the `pdftoppm` and `tesseract` programs (install the `poppler-utils` and `tesseract-ocr` packages)";

/// Longest one image (or one rendered page) may take to read.
const OCR_BUDGET: Duration = Duration::from_secs(60);

/// Longest rendering one PDF page may take.
const RENDER_BUDGET: Duration = Duration::from_secs(30);

/// Resolution PDF pages are rendered at for OCR (dots per inch).
const RENDER_DPI: u32 = 200;

/// The Tesseract program, when it runs. Checked once per process.
pub(crate) fn tesseract() -> Option<&'static Path> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| find("HEARTH_TESSERACT", "tesseract", "--version"))
        .as_deref()
}

/// poppler's `pdftoppm`, when it runs. Checked once per process.
pub(crate) fn pdftoppm() -> Option<&'static Path> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| find("HEARTH_PDFTOPPM", "pdftoppm", "-v"))
        .as_deref()
}

/// `$var`, else `name` on the PATH, when `program version_flag` succeeds.
fn find(var: &str, name: &str, version_flag: &str) -> Option<PathBuf> {
    let program = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(name));
    Command::new(&program)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        .then_some(program)
}

/// The text of the image file `image`.
pub(crate) fn image_text(tesseract: &Path, image: &Path) -> Result<String, String> {
    let tsv = run(
        tesseract,
        &[
            image.as_os_str().into(),
            "stdout".into(),
            "--psm".into(),
            "3".into(),
            "tsv".into(),
        ],
        None,
        OCR_BUDGET,
    )?;
    Ok(tsv_text(&String::from_utf8_lossy(&tsv)))
}

/// The text of page `page` (1-based) of the PDF file `pdf`, rendered by
/// `pdftoppm` and read by Tesseract.
pub(crate) fn pdf_page_text(
    pdftoppm: &Path,
    tesseract: &Path,
    pdf: &Path,
    page: usize,
) -> Result<String, String> {
    let page = page.to_string();
    let dpi = RENDER_DPI.to_string();
    let png = run(
        pdftoppm,
        &[
            "-png".into(),
            "-gray".into(),
            "-r".into(),
            dpi.into(),
            "-f".into(),
            page.clone().into(),
            "-l".into(),
            page.into(),
            "-singlefile".into(),
            pdf.as_os_str().into(),
        ],
        None,
        RENDER_BUDGET,
    )?;
    let tsv = run(
        tesseract,
        &[
            "stdin".into(),
            "stdout".into(),
            "--psm".into(),
            "3".into(),
            "tsv".into(),
        ],
        Some(png),
        OCR_BUDGET,
    )?;
    Ok(tsv_text(&String::from_utf8_lossy(&tsv)))
}

/// Runs `program args`, feeding it `stdin`, and returns its standard output;
/// killed past `budget`.
fn run(
    program: &Path,
    args: &[OsString],
    stdin: Option<Vec<u8>>,
    budget: Duration,
) -> Result<Vec<u8>, String> {
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| program.display().to_string());
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    // Feed and drain on threads so that a full pipe cannot stall the child.
    let feeder = match (stdin, child.stdin.take()) {
        (Some(bytes), Some(mut pipe)) => Some(std::thread::spawn(move || {
            // A child that stops reading early closes the pipe: its exit status tells.
            let _ = pipe.write_all(&bytes);
        })),
        _ => None,
    };
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut out);
            }
            out
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > budget => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{name} took longer than {} s", budget.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for {name}: {e}")),
        }
    };
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    let out = stdout.join().unwrap_or_default();
    if !status.success() {
        let err = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
        return Err(format!(
            "{name} failed ({status}): {}",
            err.lines().last().unwrap_or("").trim()
        ));
    }
    Ok(out)
}

/// The words of Tesseract's TSV (level 5 rows, confidence ≥ 0) as lines,
/// paragraphs separated by blank lines.
///
/// ```
/// let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
///            5\t1\t1\t1\t1\t1\t0\t0\t9\t9\t96\tHello\n";
/// assert_eq!(hearth_connectors::tsv_text(tsv), "Hello");
/// ```
pub fn tsv_text(tsv: &str) -> String {
    let mut lines: BTreeMap<(u32, u32, u32, u32), Vec<&str>> = BTreeMap::new();
    for row in tsv.lines().skip(1) {
        let f: Vec<&str> = row.split('\t').collect();
        if f.len() < 12 || f[0] != "5" {
            continue;
        }
        let num = |i: usize| f[i].parse::<u32>().unwrap_or(0);
        let confident = f[10].parse::<f32>().is_ok_and(|c| c >= 0.0);
        let word = f[11].trim();
        if confident && !word.is_empty() {
            lines
                .entry((num(1), num(2), num(3), num(4)))
                .or_default()
                .push(word);
        }
    }
    let mut text = String::new();
    let mut last_par = None;
    for ((page, block, par, _), words) in lines {
        if !text.is_empty() {
            text.push_str(if last_par == Some((page, block, par)) {
                "\n"
            } else {
                "\n\n"
            });
        }
        last_par = Some((page, block, par));
        text.push_str(&words.join(" "));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_words_regroup_into_lines_and_paragraphs() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
5\t1\t1\t1\t1\t1\t0\t0\t1\t1\t96\tWi-Fi\n\
5\t1\t1\t1\t1\t2\t0\t0\t1\t1\t95\tOn\n\
5\t1\t1\t1\t2\t1\t0\t0\t1\t1\t91\tJuniper-Home-5G\n\
4\t1\t2\t1\t1\t0\t0\t0\t1\t1\t-1\t\n\
5\t1\t2\t1\t1\t1\t0\t0\t1\t1\t-1\t \n\
5\t1\t2\t1\t1\t2\t0\t0\t1\t1\t88\tRouter\n";
        assert_eq!(tsv_text(tsv), "Wi-Fi On\nJuniper-Home-5G\n\nRouter");
    }

    #[test]
    fn a_program_past_its_budget_is_killed() {
        let started = Instant::now();
        let err = run(
            Path::new("sleep"),
            &["5".into()],
            None,
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert!(err.contains("sleep took longer than"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(4));
        let err = run(Path::new("false"), &[], None, OCR_BUDGET).unwrap_err();
        assert!(err.starts_with("false failed"), "{err}");
        let echoed = run(Path::new("cat"), &[], Some(b"piped".to_vec()), OCR_BUDGET).unwrap();
        assert_eq!(echoed, b"piped");
    }
}
