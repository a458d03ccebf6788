//! A real headless Chromium driven over WebDriver (chromedriver on a free loopback port), and
//! helpers that find things the way a person does: by role, accessible name, label and visible
//! text — never by CSS class.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Map, Value};

/// How long a page may take to show what a step waits for (a loaded CI machine, a cold browser).
const STEP_DEADLINE: Duration = Duration::from_secs(30);
/// The tallest whole-page screenshot.
const PAGE_SCREENSHOT_HEIGHT_MAX: u64 = 2400;
/// How long chromedriver may take to listen.
const DRIVER_DEADLINE: Duration = Duration::from_secs(30);

/// One browser at a time: several Chromiums at once on a 2-core CI machine only slow each other.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Chromium's flags for a test: headless, no sandbox (CI runs as root), nothing fetched from
/// the network behind the test's back, a fresh profile.
const CHROMIUM_FLAGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
    "--lang=en-US",
];

fn program(candidates: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    candidates.iter().find_map(|name| {
        let direct = Path::new(name);
        if direct.is_absolute() {
            return direct.is_file().then(|| direct.to_path_buf());
        }
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Where the tests keep their screenshots (artifacts): `target/screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("screenshots")
}

/// A Chromium session; chromedriver is killed on drop.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    _one_at_a_time: tokio::sync::MutexGuard<'static, ()>,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium. Fails (never skips) when they are missing.
    pub async fn start() -> Browser {
        let guard = ONE_BROWSER.lock().await;
        let chromium = program(&["/usr/lib/chromium/chromium", "chromium", "chromium-browser"])
            .unwrap_or_else(|| {
                panic!(
                    "Chromium is not installed. The dashboard's browser tests need Debian's \
                     `chromium` and `chromium-driver`: apt-get install -y chromium chromium-driver \
                     (.ci/run installs them)"
                )
            });
        let chromedriver = program(&["chromedriver", "/usr/lib/chromium/chromedriver"])
            .unwrap_or_else(|| {
                panic!(
                    "chromedriver is not installed. The dashboard's browser tests need Debian's \
                     `chromium-driver`: apt-get install -y chromium chromium-driver \
                     (.ci/run installs it)"
                )
            });
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let deadline = Instant::now() + DRIVER_DEADLINE;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port}"
            );
            tokio::task::yield_now().await;
        }
        let profile = tempfile::tempdir().expect("a fresh Chromium profile");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut capabilities = Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({"binary": chromium, "args": args}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("cannot start Chromium through chromedriver: {e}"));
        Browser {
            client,
            driver,
            _profile: profile,
            _one_at_a_time: guard,
        }
    }

    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("open the page");
    }

    /// Waits (with a deadline) until `xpath` matches a displayed element; returns the first.
    pub async fn wait_for(&self, what: &str, xpath: &str) -> Element {
        let deadline = Instant::now() + STEP_DEADLINE;
        loop {
            if let Ok(found) = self.client.find_all(Locator::XPath(xpath)).await {
                for element in found {
                    if element.is_displayed().await.unwrap_or(false) {
                        return element;
                    }
                }
            }
            if Instant::now() > deadline {
                let text = self.page_text().await;
                panic!("{what} never appeared ({xpath}). The page shows:\n{text}");
            }
            tokio::task::yield_now().await;
        }
    }

    /// Waits until `condition` holds of the page's main text, or fails with that text.
    pub async fn wait_until(&self, what: &str, condition: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + STEP_DEADLINE;
        loop {
            let text = self.page_text().await;
            if condition(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: never true. The page shows:\n{text}"
            );
            tokio::task::yield_now().await;
        }
    }

    pub async fn page_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Every element matching `xpath` now (no waiting).
    pub async fn all(&self, xpath: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::XPath(xpath))
            .await
            .unwrap_or_default()
    }

    /// A button by its visible text or accessible name.
    pub async fn button(&self, name: &str) -> Element {
        self.wait_for(&format!("the button “{name}”"), &button_xpath(name))
            .await
    }

    /// A link (HTML or SVG) by its visible text or accessible name.
    pub async fn link(&self, name: &str) -> Element {
        self.wait_for(&format!("the link “{name}”"), &link_xpath(name))
            .await
    }

    /// The form control whose `<label>` reads `label`.
    pub async fn field(&self, label: &str) -> Element {
        let label_el = self
            .wait_for(
                &format!("the field labelled “{label}”"),
                &format!("//label[normalize-space(.)={}]", literal(label)),
            )
            .await;
        let id = label_el
            .attr("for")
            .await
            .expect("label attribute")
            .expect("a label names its control");
        self.client
            .find(Locator::Id(&id))
            .await
            .expect("the labelled control")
    }

    /// Types into the field labelled `label`, replacing what was there.
    pub async fn fill(&self, label: &str, text: &str) {
        let field = self.field(label).await;
        field.clear().await.expect("clear the field");
        field.send_keys(text).await.expect("type into the field");
    }

    /// The heading of the page (h1), once it reads `text` (or starts with it).
    pub async fn heading(&self, text: &str) -> Element {
        self.wait_for(
            &format!("the heading “{text}”"),
            &format!("//h1[starts-with(normalize-space(.), {})]", literal(text)),
        )
        .await
    }

    /// A table by the start of its caption.
    pub async fn table(&self, caption: &str) -> Element {
        self.wait_for(
            &format!("the table “{caption}”"),
            &format!(
                "//table[caption[starts-with(normalize-space(.), {})]]",
                literal(caption)
            ),
        )
        .await
    }

    /// The text of each cell of each body row of the table captioned `caption`.
    pub async fn rows(&self, caption: &str) -> Vec<Vec<String>> {
        let table = self.table(caption).await;
        let mut out = Vec::new();
        for row in table
            .find_all(Locator::XPath("./tbody/tr"))
            .await
            .unwrap_or_default()
        {
            let mut cells = Vec::new();
            for cell in row
                .find_all(Locator::XPath("./th|./td"))
                .await
                .unwrap_or_default()
            {
                cells.push(cell.text().await.unwrap_or_default());
            }
            out.push(cells);
        }
        out
    }

    /// Saves a PNG of the window under `target/screenshots/` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Saves a PNG of the whole page (the window made as tall as the page, then put back).
    pub async fn screenshot_page(&self, name: &str) -> PathBuf {
        let height = self
            .run("return document.documentElement.scrollHeight")
            .await
            .as_u64()
            .unwrap_or(800)
            .clamp(800, PAGE_SCREENSHOT_HEIGHT_MAX);
        let (width, old_height) = (1280, 800);
        self.client
            .set_window_size(width, u32::try_from(height).unwrap_or(800))
            .await
            .expect("resize");
        let path = self.screenshot(name).await;
        self.client
            .set_window_size(width, old_height)
            .await
            .expect("resize back");
        path
    }

    /// How long the page shown took from its route to drawn data, as the page measured it.
    pub async fn loaded_ms(&self) -> String {
        self.wait_for("the loaded page", "//main[@data-loaded-ms]")
            .await
            .attr("data-loaded-ms")
            .await
            .expect("attr")
            .unwrap_or_default()
    }

    pub async fn run(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .expect("run a script in the page")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// An XPath string literal for any text (quotes included).
pub fn literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

pub fn button_xpath(name: &str) -> String {
    let n = literal(name);
    format!("//button[normalize-space(.)={n} or @aria-label={n}]")
}

pub fn link_xpath(name: &str) -> String {
    let n = literal(name);
    format!("//*[local-name()='a' and (normalize-space(.)={n} or @aria-label={n})]")
}

/// An amount as shown ("EUR 1,234.50", "-NOK 12.00") or sent ("1234.5") reduced to one
/// canonical decimal text, so the two can be compared exactly: "1234.5".
pub fn canonical_amount(text: &str) -> String {
    let negative = text.contains('-') || text.contains('−');
    let digits: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let (int, frac) = digits.split_once('.').unwrap_or((&digits, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let body = if frac.is_empty() {
        int.to_owned()
    } else {
        format!("{int}.{frac}")
    };
    if negative && body != "0" {
        format!("-{body}")
    } else {
        body
    }
}
