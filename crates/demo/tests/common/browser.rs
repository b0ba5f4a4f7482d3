//! Headless Chromium for the demo's browser tests: the driver, a session, and the steps
//! (click, fill, wait for a text) every story uses. Skipped loudly without Chromium, unless
//! `REQUIRE_BROWSER=1`.
#![allow(dead_code, unreachable_pub)] // each test file uses its own share

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub fn browser_present() -> bool {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !present {
        assert!(
            std::env::var("REQUIRE_BROWSER").as_deref() != Ok("1"),
            "REQUIRE_BROWSER=1 but {CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install -y chromium chromium-driver)"
        );
        eprintln!(
            "\n*** SKIPPED: {CHROMIUM} or {CHROMEDRIVER} is missing: the browser test of tpe demo did not run ***\n"
        );
    }
    present
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tpe-demo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub async fn start_chromedriver() -> (tokio::process::Child, u16) {
    let port = free_port();
    let child = tokio::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromedriver");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (child, port);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on {port}");
}

pub async fn connect(port: u16, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session")
}

pub type Step = Result<(), String>;

pub fn err(what: &str) -> impl FnOnce(fantoccini::error::CmdError) -> String + '_ {
    move |e| format!("{what}: {e}")
}

pub async fn click(c: &Client, css: &str) -> Step {
    c.find(Locator::Css(css))
        .await
        .map_err(err(css))?
        .click()
        .await
        .map_err(err(css))
}

pub async fn fill(c: &Client, css: &str, text: &str) -> Step {
    let e = c.find(Locator::Css(css)).await.map_err(err(css))?;
    e.clear().await.map_err(err(css))?;
    e.send_keys(text).await.map_err(err(css))
}

/// Waits until the page's source contains `text`.
pub async fn wait_text(c: &Client, text: &str) -> Result<String, String> {
    let mut last = String::new();
    for _ in 0..100 {
        last = c.source().await.map_err(err("page source"))?;
        if last.contains(text) {
            return Ok(last);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = c
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    Err(format!(
        "{url} never showed {text:?}; page: {}",
        last.chars().take(600).collect::<String>()
    ))
}

/// Runs `story` in a fresh headless Chromium; on failure, saves a screenshot named after
/// `name` and panics with the story's reason.
pub async fn run<F, Fut>(name: &str, story: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = (Client, Step)>,
{
    // Two rustls crypto back ends are linked in the workspace: pick one for fantoccini.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (mut driver, port) = start_chromedriver().await;
    let profile = temp_dir(&format!("chromium-{name}"));
    let client = connect(port, &profile).await;
    let (client, result) = story(client).await;
    if let Err(why) = &result {
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tpe-demo-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        let path = shots.join(format!("{name}.png"));
        match client.screenshot().await {
            Ok(png) => {
                std::fs::write(&path, png).unwrap();
                eprintln!("screenshot of the failure: {}", path.display());
            }
            Err(e) => eprintln!("no screenshot: {e}"),
        }
        eprintln!("browser test {name} failed: {why}");
    }
    let _ = client.close().await;
    let _ = driver.kill().await;
    let _ = std::fs::remove_dir_all(&profile);
    result.unwrap();
}

/// Clicks the button whose text is `text`.
pub async fn click_button(c: &Client, text: &str) -> Step {
    let xpath = format!("//button[normalize-space()='{text}']");
    c.find(Locator::XPath(&xpath))
        .await
        .map_err(err(text))?
        .click()
        .await
        .map_err(err(text))
}

/// The text of the page on screen, as the reader sees it.
pub async fn visible_text(c: &Client) -> Result<String, String> {
    c.execute("return document.body.innerText", Vec::new())
        .await
        .map_err(err("page text"))
        .map(|v| v.as_str().unwrap_or_default().to_owned())
}

/// The payment reference a return page shows.
pub fn reference_of(html: &str) -> Result<String, String> {
    let start = html
        .find("<code>")
        .ok_or("no reference on the return page")?
        + 6;
    let len = html[start..]
        .find("</code>")
        .ok_or("no reference on the return page")?;
    Ok(html[start..start + len].to_owned())
}
