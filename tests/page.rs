//! index.html as a browser shows it: headless Chromium (Debian's `chromium`) loads a run's,
//! a sweep's and a comparison's page in a 1400 px window; every image must load and nothing
//! may be wider than its box or the window. Skipped without Chromium, except under CI=true,
//! where it is required.

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::cargo_bin_cmd;

/// Appended to a copy of the page: on load, it lists every problem (or "OK") in a <pre> that
/// `--dump-dom` then prints.
const CHECK_SCRIPT: &str = r#"<script>
window.addEventListener('load', () => {
  const problems = [];
  for (const img of document.images) {
    if (!img.complete || img.naturalWidth === 0) problems.push('image ' + img.getAttribute('src') + ' did not load');
  }
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > width) {
    problems.push('the page is ' + document.documentElement.scrollWidth + ' px wide in a ' + width + ' px window');
  }
  for (const el of document.querySelectorAll('h1, h2, p, div, table, th, td, figure, img, ul')) {
    const right = el.getBoundingClientRect().right;
    const what = el.tagName + (el.className ? '.' + el.className : '') + ' "' + el.textContent.slice(0, 40) + '"';
    if (right > width) problems.push(what + ' ends at ' + right + ' px, past the window');
    if (el.scrollWidth > el.clientWidth + 1 && el.tagName !== 'IMG') problems.push(what + ' overflows its box by ' + (el.scrollWidth - el.clientWidth) + ' px');
  }
  const pre = document.createElement('pre');
  pre.id = 'page-check';
  pre.textContent = problems.length ? problems.join('\n') : 'OK';
  document.body.appendChild(pre);
});
</script>"#;

fn chromium() -> Option<&'static str> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let found = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
    if found.is_none() {
        assert!(!ci, "CI=true requires the page test: chromium is not installed (apt-get install -y chromium)");
        eprintln!("skipped: chromium is not installed (apt-get install -y chromium)");
    }
    found
}

/// What the check script found on the page in `dir`, as the browser rendered it.
fn check_page(browser: &str, dir: &Path) -> String {
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let checked = page.replace("</body>", &format!("{CHECK_SCRIPT}\n</body>"));
    assert_ne!(checked, page, "index.html has no </body>");
    let copy = dir.join("page-check.html");
    std::fs::write(&copy, checked).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,900", "--virtual-time-budget=10000"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", copy.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("<pre id=\"page-check\">").unwrap_or_else(|| {
        panic!(
            "the check did not run: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            dom.chars().take(500).collect::<String>()
        )
    });
    let rest = &dom[start + "<pre id=\"page-check\">".len()..];
    rest[..rest.find("</pre>").unwrap()].to_string()
}

fn links(page: &str) -> Vec<String> {
    page.split(" href=\"")
        .skip(1)
        .chain(page.split(" src=\"").skip(1))
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect()
}

/// The page in `dir`, after checking that everything it links to is in `dir` and that it
/// links to each of `files`.
fn page_linking(dir: &Path, files: &[&str]) -> String {
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    for link in links(&page) {
        assert!(dir.join(&link).is_file(), "index.html links to {link}, which is not in {}", dir.display());
    }
    for file in files {
        assert!(page.contains(&format!("href=\"{file}\"")), "no link to {file}");
    }
    page
}

#[test]
fn a_run_page_loads_every_image_and_fits_1400_px() {
    let Some(browser) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/nameserver-gc-pause.yaml");
    cargo_bin_cmd!("routesim").args(["run", scenario, "-q", "--out"]).arg(&dir).assert().success();
    page_linking(&dir, &["summary.json", "timeseries.csv", "detection.csv", "convergence.csv", "timeline.csv"]);
    assert_eq!(check_page(browser, &dir), "OK");
}

/// A small fleet whose broker-a crashes in `mode`, with a 2 x 2 sweep over 2 seeds.
fn small(mode: &str) -> String {
    format!(
        "name: small-{mode}\nduration: 4m\ncluster:\n  nameservers: 2\n  broker_groups: 2\ntopics:\n  - name: t\n\
         producers:\n  - name: p\n    count: 4\n    topic: t\n    rate: 5\nfaults:\n  - at: 1m\n    kind: crash\n    \
         target: broker-a\n    mode: {mode}\nsweep:\n  seeds: 2\n  vary:\n    timing.broker_heartbeat: [10s, 30s]\n    \
         timing.nameserver_channel_idle: [20s, 60s]\n"
    )
}

#[test]
fn a_sweep_page_loads_every_chart_and_fits_1400_px() {
    let Some(browser) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("small.yaml");
    std::fs::write(&file, small("power-off")).unwrap();
    let dir = tmp.path().join("sweep");
    cargo_bin_cmd!("routesim").arg("sweep").arg(&file).arg("--out").arg(&dir).assert().success();
    let page = page_linking(&dir, &["runs.csv", "points.csv", "sweep.json", "heatmap.broker-a.stale_window_s.p99.svg"]);
    assert!(page.contains("best") && page.contains("worst"), "no headline");
    // Every chart the sweep drew is on the page as PNG, linking its SVG.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".svg") {
            assert!(page.contains(&format!("src=\"{stem}.png\"")), "{stem}.png is not on the page");
        }
    }
    assert_eq!(check_page(browser, &dir), "OK");
}

#[test]
fn a_compare_page_loads_every_chart_and_fits_1400_px() {
    let Some(browser) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for mode in ["kill", "power-off"] {
        let file = tmp.path().join(format!("{mode}.yaml"));
        std::fs::write(&file, small(mode)).unwrap();
        let out = tmp.path().join(mode);
        cargo_bin_cmd!("routesim").arg("run").arg(&file).arg("-q").arg("--out").arg(&out).assert().success();
        runs.push(out);
    }
    let dir = tmp.path().join("compare");
    cargo_bin_cmd!("routesim").arg("compare").args(&runs).arg("--out").arg(&dir).assert().success();
    let page = page_linking(&dir, &["compare.csv", "compare-failed-sends.svg", "compare-convergence-cdf.svg"]);
    assert!(page.contains("Stale window after broker-a"), "no headline");
    assert_eq!(check_page(browser, &dir), "OK");
}

#[test]
fn the_check_catches_a_missing_image_and_an_overflow() {
    let Some(browser) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let wide = format!("<table><tr>{}</tr></table>", "<td>column-without-breaks</td>".repeat(80));
    let cramped = "<table><tr><th style=\"max-width:4em\">timing.broker_heartbeat</th></tr></table>";
    let page = format!("<!DOCTYPE html><html><body><img src=\"missing.png\">{wide}{cramped}</body></html>");
    std::fs::write(tmp.path().join("index.html"), page).unwrap();
    let found = check_page(browser, tmp.path());
    assert!(found.contains("image missing.png did not load"), "{found}");
    assert!(found.contains("px wide in a"), "{found}");
    assert!(found.contains("TH \"timing.broker_heartbeat\" overflows its box"), "{found}");
}
