//! The cloud client against a fault-injecting HTTP stub on loopback: a 429
//! and a 500 are retried, the streamed reply is reassembled, a 400 is not
//! retried, and every byte received by the stub is what the client sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_assistant::cloud::{CloudClient, CloudConfig, CloudError};
use hearth_assistant::{ChatMessage, GenerationParams};

/// Serves one canned response per connection, in order, recording each
/// request body.
fn stub(responses: Vec<String>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for response in responses {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            log.lock().unwrap().push(String::from_utf8(body).unwrap());
            let mut stream = stream;
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (format!("http://{addr}/v1"), seen)
}

fn http(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
        body.len()
    )
}

fn config(url: String) -> CloudConfig {
    let mut config = CloudConfig::new(url, "stub-model");
    config.backoff = Duration::from_millis(10);
    config.timeout = Duration::from_secs(5);
    config
}

#[test]
fn retries_429_and_500_then_streams_the_reply() {
    let events = concat!(
        "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"It expires on \"}}]}\n\n",
        ": keep-alive\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"<DATE> [1].\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":7},\"model\":\"stub-2\"}\n\n",
        "data: [DONE]\n\n"
    );
    let (url, seen) = stub(vec![
        http("429 Too Many Requests", "retry-after: 0\r\n", "slow down"),
        http("500 Internal Server Error", "", "oops"),
        http("200 OK", "content-type: text/event-stream\r\n", events),
    ]);
    let client = CloudClient::new(config(url)).unwrap();
    let mut streamed = String::new();
    let reply = client
        .chat(
            &[ChatMessage::user("When does it expire?")],
            &GenerationParams::default(),
            |piece| streamed.push_str(piece),
        )
        .unwrap();
    assert_eq!(reply.text, "It expires on <DATE> [1].");
    assert_eq!(streamed, reply.text);
    assert_eq!((reply.prompt_tokens, reply.completion_tokens), (42, 7));
    assert_eq!(reply.model, "stub-2");
    assert_eq!(reply.attempts, 3);
    let bodies = seen.lock().unwrap();
    assert_eq!(bodies.len(), 3);
    assert_eq!(
        reply.bytes_sent,
        bodies.iter().map(|b| b.len() as u64).sum::<u64>()
    );
    let sent: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(sent["model"], "stub-model");
    assert_eq!(sent["messages"][0]["content"], "When does it expire?");
    assert_eq!(sent["stream"], true);
}

/// The error of a one-message chat that must fail.
fn failure(client: &CloudClient) -> CloudError {
    client
        .chat(
            &[ChatMessage::user("x")],
            &GenerationParams::default(),
            |_| {},
        )
        .unwrap_err()
}

#[test]
fn a_client_error_is_not_retried() {
    let (url, seen) = stub(vec![http("400 Bad Request", "", "{\"error\":\"bad\"}")]);
    let client = CloudClient::new(config(url)).unwrap();
    let err = failure(&client);
    assert!(
        matches!(err, CloudError::Status { status: 400, .. }),
        "{err}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn a_dead_endpoint_gives_up_after_the_retries() {
    // Bind and drop: nothing listens on the port any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = config(format!("http://127.0.0.1:{port}/v1"));
    config.max_retries = 2;
    let client = CloudClient::new(config).unwrap();
    let err = failure(&client);
    assert!(
        matches!(err, CloudError::GaveUp { attempts: 3, .. }),
        "{err}"
    );
}

#[test]
fn a_silent_endpoint_times_out_and_is_retried() {
    // Accepts connections and reads the request, but never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(0usize));
    let count = Arc::clone(&accepted);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            *count.lock().unwrap() += 1;
            held.push(stream); // kept open, silent
        }
    });
    let mut config = config(format!("http://{addr}/v1"));
    config.timeout = Duration::from_millis(300);
    config.read_timeout = Duration::from_millis(300);
    config.max_retries = 1;
    let client = CloudClient::new(config).unwrap();
    let started = std::time::Instant::now();
    let err = failure(&client);
    let CloudError::GaveUp { attempts, last } = &err else {
        panic!("{err}");
    };
    assert_eq!(*attempts, 2);
    assert!(matches!(**last, CloudError::Timeout(_)), "{last}");
    assert_eq!(*accepted.lock().unwrap(), 2);
    // Two tries of 0.3 s and a short backoff, not the default two minutes.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
