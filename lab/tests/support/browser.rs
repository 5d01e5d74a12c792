//! Pages checked in a real browser: Debian's `chromium`, headless, opens a page the lab wrote
//! (a run's `report.html`, a suite's `index.html`) as a person's browser would, and the tests
//! look at what it made of it.
//!
//! Chromium's command line does what is needed, so no DevTools client is involved: `--dump-dom`
//! prints the document as parsed (an SVG element left unclosed swallows its siblings there,
//! which the expectations see), `--enable-logging=stderr` prints every console message (the
//! pages have no scripts, and the command line does not tell levels apart: any message is a
//! fault), and `--screenshot` paints the page. Each run gets a fresh profile directory, so
//! tests may run side by side. Without Chromium the check fails, saying how to install it:
//! tests never skip.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The browser: `LAB_TEST_CHROMIUM`, or Debian's `chromium` on the PATH.
fn chromium() -> String {
    std::env::var("LAB_TEST_CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

/// How long one browser run may take before the check fails.
const BOUND_SECS: u32 = 90;

/// What the browser made of a page.
#[derive(Debug)]
pub struct Rendered {
    /// Console messages, each as Chromium logged it (`"message", source: url (line)`).
    pub console: Vec<String>,
    /// The document as parsed, serialised back to HTML.
    pub dom: String,
    /// The painted page (PNG).
    pub screenshot: PathBuf,
    /// Links (`a[href]`, `img[src]`, `link[href]`, `script[src]`) to local files that do not
    /// exist, relative to the page.
    pub broken_links: Vec<String>,
}

/// How many elements a selector must find in the parsed page.
#[derive(Debug, Clone)]
pub struct Expect {
    /// A CSS selector, run on the DOM Chromium built.
    pub selector: String,
    /// Exactly this many, or at least this many when `at_least`.
    pub count: usize,
    /// Whether `count` is a minimum.
    pub at_least: bool,
}

impl Expect {
    /// Exactly `count` elements match `selector`.
    pub fn exactly(selector: &str, count: usize) -> Self {
        Expect {
            selector: selector.into(),
            count,
            at_least: false,
        }
    }

    /// At least `count` elements match `selector`.
    pub fn at_least(selector: &str, count: usize) -> Self {
        Expect {
            selector: selector.into(),
            count,
            at_least: true,
        }
    }
}

/// Runs Chromium headless on `page` with `args`, in a fresh profile, within [`BOUND_SECS`];
/// returns its standard output and standard error.
fn run(page: &Path, args: &[&str]) -> (String, String) {
    let page = std::fs::canonicalize(page)
        .unwrap_or_else(|e| panic!("{}: {e} (no page to open)", page.display()));
    let profile = tempfile::tempdir().expect("a profile directory");
    let browser = chromium();
    let out = Command::new("timeout")
        .args(["-k", "5", &BOUND_SECS.to_string(), &browser])
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| panic!("could not run `timeout {browser}`: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "`{browser}` on {} ended with {} (install Debian's chromium package, as test.sh does, \
         or point LAB_TEST_CHROMIUM at a Chromium):\n{}",
        page.display(),
        out.status,
        stderr
            .lines()
            .filter(|l| !l.contains("dbus"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// The console messages in Chromium's log (`…:CONSOLE:12] "message", source: …`).
fn console_messages(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| l.split_once(":CONSOLE").map(|(_, rest)| rest))
        .map(|rest| rest.split_once("] ").map_or(rest, |(_, m)| m).to_string())
        .collect()
}

/// Local files the page refers to that are not there.
fn broken_links(page: &Path, dom: &scraper::Html) -> Vec<String> {
    let dir = page.parent().unwrap_or(Path::new("."));
    let sel = scraper::Selector::parse("a[href], img[src], link[href], script[src]")
        .expect("a valid selector");
    dom.select(&sel)
        .filter_map(|e| e.attr("href").or(e.attr("src")))
        .filter(|target| !target.starts_with('#') && !target.contains(':'))
        .filter(|target| {
            let file = target.split(['#', '?']).next().unwrap_or(target);
            !file.is_empty() && !dir.join(file).exists()
        })
        .map(str::to_string)
        .collect()
}

/// Opens `page` in headless Chromium: its parsed DOM and console messages, and a screenshot
/// `width` × `height` pixels written to `screenshot`.
pub fn render(page: &Path, screenshot: &Path, (width, height): (u32, u32)) -> Rendered {
    let (dom, log) = run(page, &["--enable-logging=stderr", "--v=0", "--dump-dom"]);
    let _ = std::fs::remove_file(screenshot);
    run(
        page,
        &[
            &format!("--window-size={width},{height}"),
            &format!("--screenshot={}", screenshot.display()),
        ],
    );
    let png = std::fs::read(screenshot).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (Chromium wrote no screenshot)",
            screenshot.display()
        )
    });
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
        "{} is not a painted PNG ({} bytes)",
        screenshot.display(),
        png.len()
    );
    let parsed = scraper::Html::parse_document(&dom);
    Rendered {
        console: console_messages(&log),
        broken_links: broken_links(page, &parsed),
        dom,
        screenshot: screenshot.to_path_buf(),
    }
}

/// Opens `page` in headless Chromium (see [`render`]) and checks it: no console message, no
/// broken local link, a `<body>`, and every expectation met in the DOM Chromium built. Panics
/// listing every problem at once; returns what was rendered.
#[track_caller]
pub fn check_page(
    page: &Path,
    expectations: &[Expect],
    screenshot: &Path,
    size: (u32, u32),
) -> Rendered {
    let rendered = render(page, screenshot, size);
    let parsed = scraper::Html::parse_document(&rendered.dom);
    let mut problems: Vec<String> = Vec::new();
    problems.extend(
        rendered
            .console
            .iter()
            .map(|m| format!("console message: {m}")),
    );
    problems.extend(
        rendered
            .broken_links
            .iter()
            .map(|l| format!("broken link: {l}")),
    );
    for e in std::iter::once(Expect::exactly("body", 1)).chain(expectations.iter().cloned()) {
        let sel = scraper::Selector::parse(&e.selector)
            .unwrap_or_else(|err| panic!("the selector {:?} is invalid: {err}", e.selector));
        let found = parsed.select(&sel).count();
        let ok = if e.at_least {
            found >= e.count
        } else {
            found == e.count
        };
        if !ok {
            problems.push(format!(
                "{:?}: {found} element(s), expected {}{}",
                e.selector,
                if e.at_least { "at least " } else { "" },
                e.count
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} in Chromium:\n  {}\n(screenshot: {})",
        page.display(),
        problems.join("\n  "),
        screenshot.display()
    );
    rendered
}

/// The lanes of a standby's lag: the replay lag in bytes behind the primary (drawn when a
/// reading had it), and the seconds since its last replayed commit (drawn when there is any).
pub const LAG_LANES: [&str; 2] = ["replay lag", "last commit"];

/// The lanes a run's `report.json` events draw after the node lanes: the ledger, then the lag
/// lanes.
pub fn lanes_of(events: &[serde_json::Value]) -> Vec<&'static str> {
    let has = |kind: &str| events.iter().any(|e| e["event"] == kind);
    let mut lanes = Vec::new();
    if has("ledger_sample") {
        lanes.push("ledger");
    }
    if events
        .iter()
        .any(|e| e["event"] == "lag" && e["bytes"].is_u64())
    {
        lanes.push(LAG_LANES[0]);
    }
    if has("lag") {
        lanes.push(LAG_LANES[1]);
    }
    lanes
}

/// The expectations every `report.html` meets: the timeline's SVG holds one lane per node in
/// `nodes`, then the `other` lanes (the ledger and lag lanes the run drew, in order), each
/// directly under the SVG (so nothing swallowed it) and labelled; the steps table has `steps`
/// rows.
pub fn report_expectations(nodes: &[&str], other: &[&str], steps: usize) -> Vec<Expect> {
    const SVG: &str = "section > svg[aria-label=\"drill timeline\"]";
    let mut lanes: Vec<&str> = nodes.to_vec();
    lanes.extend_from_slice(other);
    let mut out = vec![
        Expect::exactly(SVG, 1),
        Expect::exactly(&format!("{SVG} > g[data-lane]"), lanes.len()),
        // One row per step: only the steps table has a details cell.
        Expect::exactly("table tbody tr > td.detail", steps),
    ];
    for lane in &lanes {
        out.push(Expect::exactly(
            &format!("{SVG} > g[data-lane=\"{lane}\"] > text.name"),
            1,
        ));
    }
    for node in nodes {
        out.push(Expect::at_least(
            &format!("{SVG} > g[data-lane=\"{node}\"] > rect"),
            1,
        ));
    }
    out
}

/// Keeps a copy of a screenshot under the build's scratch directory
/// (`target/tmp/screenshots/<name>.png`), where it outlives the test's temporary run directory;
/// returns its path.
pub fn keep_screenshot(screenshot: &Path, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshots directory");
    let kept = dir.join(format!("{name}.png"));
    std::fs::copy(screenshot, &kept)
        .unwrap_or_else(|e| panic!("keeping {}: {e}", screenshot.display()));
    kept
}
