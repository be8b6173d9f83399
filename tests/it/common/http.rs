//! A `hearth serve` child process and a minimal HTTP/1.1 client for it, plus
//! a recording endpoint that stands in for (or sits in front of) a cloud
//! model: every request body it receives is kept for the leak checks.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running `hearth serve`, killed when dropped.
pub struct Serve {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Serve {
    /// Starts `hearth --data-dir DATA [--config CONFIG] serve --port 0 ARGS…`
    /// and waits for the address it prints.
    pub fn start(data_dir: &Path, config: Option<&Path>, args: &[&str]) -> Self {
        let mut cmd = super::command(data_dir);
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        let mut child = cmd
            .args(["serve", "--port", "0"])
            .args(args)
            .env_remove("HEARTH_CLOUD_BASE_URL")
            .env_remove("HEARTH_CLOUD_MODEL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hearth serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("[serve] {line}");
                if let Some(addr) = line.strip_prefix("listening on http://")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(300))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("hearth serve did not report its address")
            });
        Self { child, addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let (status, body) = request(&self.addr, "GET", path, None);
        (status, parse(&body))
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let (status, text) = request(&self.addr, "POST", path, Some(&body.to_string()));
        (status, parse(&text))
    }

    /// A streamed chat completion: the `data:` events, in order.
    pub fn post_stream(&self, path: &str, body: &Value) -> (u16, Vec<String>) {
        let (status, text) = request(&self.addr, "POST", path, Some(&body.to_string()));
        let events = text
            .split("\n\n")
            .filter_map(|e| e.trim().strip_prefix("data: ").map(str::to_owned))
            .collect();
        (status, events)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// One HTTP/1.1 request with `Connection: close`; the status and the body
/// (de-chunked).
pub fn request(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(600)))
        .unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let mut rest = &raw[split + 4..];
    let body = if head.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        loop {
            let end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("chunk size");
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..end]).unwrap().trim(), 16)
                .expect("chunk size");
            rest = &rest[end + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        out
    } else {
        rest.to_vec()
    };
    (status, String::from_utf8(body).expect("UTF-8 body"))
}

/// What a [`Recorder`] does with a request after recording it.
#[derive(Clone)]
pub enum Upstream {
    /// Answers itself: a streamed reply echoing the first `<PERSON_n>`
    /// placeholder of the request and citing source 1.
    Stub,
    /// Forwards it to this address and relays the response.
    Forward(String),
}

/// An HTTP endpoint on loopback that records every request body.
pub struct Recorder {
    pub url: String,
    pub bodies: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    pub fn start(upstream: Upstream) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&bodies);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let log = Arc::clone(&log);
                let upstream = upstream.clone();
                std::thread::spawn(move || handle(stream, &log, &upstream));
            }
        });
        Self {
            url: format!("http://{addr}/v1"),
            bodies,
        }
    }

    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

fn handle(stream: TcpStream, log: &Mutex<Vec<String>>, upstream: &Upstream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    let _ = reader.read_line(&mut request_line);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body = String::from_utf8(body).expect("UTF-8 request body");
    log.lock().unwrap().push(body.clone());
    let mut stream = stream;
    let response = match upstream {
        Upstream::Stub => stub_reply(&body),
        Upstream::Forward(addr) => {
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let (status, text) = request(addr, "POST", path, Some(&body));
            let kind = if text.starts_with("data:") {
                "text/event-stream"
            } else {
                "application/json"
            };
            format!(
                "HTTP/1.1 {status} X\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            )
        }
    };
    let _ = stream.write_all(response.as_bytes());
}

fn stub_reply(body: &str) -> String {
    let person = body
        .find("<PERSON_")
        .and_then(|at| body[at..].find('>').map(|end| &body[at..=at + end]))
        .unwrap_or("someone");
    let text = format!("That was {person} [1].");
    let events = format!(
        "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
        serde_json::json!({"choices": [{"delta": {"content": text}}]}),
        serde_json::json!({"choices": [], "model": "recorder",
                           "usage": {"prompt_tokens": 100, "completion_tokens": 6}})
    );
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{events}",
        events.len()
    )
}
