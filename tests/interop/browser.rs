//! A real browser against `pubcat serve`: headless Chromium loads a page
//! from a dev server on `localhost` (another port than the broker's, so
//! another origin) and uses the broker the way a web app would: `fetch`
//! POST, `EventSource` with a replay, a long-poll `fetch` reading the
//! exposed headers, and a WebSocket. The same page from a foreign origin
//! (`127.0.0.2`) is refused everything, and publishes nothing.
//!
//! The page reports what it saw by POSTing JSON back to its own server;
//! the test waits for that report, bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{Broker, http};

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>pubcat browser test</title>
<script>
const B = new URL(location).searchParams.get('broker');
const T = new URL(location).searchParams.get('topic');
const URL_T = B + '/' + T;
const within = (ms, p) => Promise.race([p, new Promise(r => setTimeout(() => r('timeout'), ms))]);
async function run() {
  const out = {};
  try {
    const r = await fetch(URL_T, {method: 'POST', headers: {'Content-Type': 'text/plain'}, body: 'one'});
    out.post = r.status + ' ' + (await r.text()).trim();
  } catch (e) { out.post = 'error'; }
  out.sse = await within(8000, new Promise(res => {
    const es = new EventSource(URL_T + '?since=0');
    es.onmessage = ev => { es.close(); res(ev.data + ' id=' + ev.lastEventId); };
    es.onerror = () => { es.close(); res('error'); };
  }));
  try {
    const r = await fetch(URL_T + '?since=0');
    out.poll = r.status + ' ' + (await r.text()).trim() + ' etag=' + r.headers.get('Etag')
      + ' epoch=' + (r.headers.get('X-Pubcat-Epoch') ? 'yes' : 'no');
  } catch (e) { out.poll = 'error'; }
  out.ws = await within(8000, new Promise(res => {
    const ws = new WebSocket(URL_T.replace(/^http/, 'ws'));
    ws.onopen = () => fetch(URL_T, {method: 'POST', headers: {'Content-Type': 'text/plain'}, body: 'two'}).catch(() => {});
    ws.onmessage = ev => { ws.close(); res('got ' + ev.data); };
    ws.onerror = () => res('error');
  }));
  // Resuming in a browser: Nchan's subprotocol puts each message's id
  // ahead of it.
  out.wsmeta = await within(8000, new Promise(res => {
    const ws = new WebSocket(URL_T.replace(/^http/, 'ws') + '?since=0', 'ws+meta.nchan');
    ws.onmessage = ev => { ws.close(); res(ws.protocol + ' ' + JSON.stringify(ev.data)); };
    ws.onerror = () => res('error');
  }));
  await fetch('/result', {method: 'POST', body: JSON.stringify(out)});
}
run();
</script>
"#;

/// The dev server: `GET /page` is [`PAGE`], `POST /result` the report,
/// sent on the channel it returns.
fn dev_server(ip: &str) -> (SocketAddr, mpsc::Receiver<serde_json::Value>) {
    let listener = TcpListener::bind((ip, 0)).expect("bind the dev server");
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let tx = tx.clone();
            std::thread::spawn(move || serve_one(stream, &tx));
        }
    });
    (addr, rx)
}

fn serve_one(mut stream: TcpStream, report: &mpsc::Sender<serde_json::Value>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    let (status, content) = if request_line.starts_with("GET /page") {
        ("200 OK", PAGE)
    } else if request_line.starts_with("POST /result") {
        if let Ok(v) = serde_json::from_slice(&body) {
            let _ = report.send(v);
        }
        ("200 OK", "")
    } else {
        ("404 Not Found", "")
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{content}",
        content.len()
    );
}

/// Headless Chromium on `url`, killed on drop (before its profile
/// directory is removed: fields drop in order).
struct Chromium {
    child: Child,
    _profile: tempdir::Dir,
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium(url: &str) -> Chromium {
    let profile = tempdir::Dir::new("pubcat-chromium");
    let child = Command::new(std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into()))
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium (tests/peers/chromium.sh start installs it)");
    Chromium {
        child,
        _profile: profile,
    }
}

/// The page's report, within a bound generous enough for a cold browser.
fn report(rx: &mpsc::Receiver<serde_json::Value>) -> serde_json::Value {
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the page never reported")
}

fn last_id(broker: &Broker, topic: &str) -> u64 {
    let (_, body) = http(broker.addr, "GET", "/_/stats", b"");
    let stats: serde_json::Value = serde_json::from_slice(&body).unwrap();
    stats["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == topic)
        .map_or(0, |t| t["last_id"].as_u64().unwrap())
}

#[test]
#[ignore = "needs chromium: tests/interop.sh installs and runs these"]
fn a_page_from_a_localhost_dev_server_uses_every_http_route_and_websocket() {
    let broker = Broker::start();
    let (dev, rx) = dev_server("127.0.0.1");
    let topic = crate::unique("browser");
    let url = format!(
        "http://localhost:{}/page?broker=http://127.0.0.1:{}&topic={topic}",
        dev.port(),
        broker.addr.port()
    );
    let _browser = chromium(&url);
    let got = report(&rx);
    assert_eq!(got["post"], "200 {\"id\":1}", "{got}");
    assert_eq!(got["sse"], "one id=1", "{got}");
    // `?since` asks for everything after: one batch (a JSON array).
    assert_eq!(
        got["poll"], "200 [{\"id\":1,\"body\":\"one\"}] etag=1 epoch=yes",
        "{got}"
    );
    assert_eq!(got["ws"], "got two", "{got}");
    assert_eq!(got["wsmeta"], "ws+meta.nchan \"id: 1\\n\\none\"", "{got}");
    assert_eq!(last_id(&broker, &topic), 2);
}

#[test]
#[ignore = "needs chromium: tests/interop.sh installs and runs these"]
fn a_page_from_a_foreign_origin_is_refused_everything() {
    let broker = Broker::start();
    let (dev, rx) = dev_server("127.0.0.2");
    let topic = crate::unique("foreign");
    let url = format!(
        "http://127.0.0.2:{}/page?broker=http://127.0.0.1:{}&topic={topic}",
        dev.port(),
        broker.addr.port()
    );
    let _browser = chromium(&url);
    let got = report(&rx);
    for route in ["post", "sse", "poll", "ws", "wsmeta"] {
        assert_eq!(got[route], "error", "{route}: {got}");
    }
    assert_eq!(last_id(&broker, &topic), 0, "a foreign page published");
    broker.wait_for_log("Origin http://127.0.0.2");
}

/// A directory removed on drop (no crate for one test).
mod tempdir {
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(name: &str) -> Dir {
            let path = std::env::temp_dir().join(crate::unique(name));
            std::fs::create_dir_all(&path).expect("create a temp dir");
            Dir(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
