//! Sync through a real S3-compatible server: moto's (`moto[server]` from
//! PyPI, installed into a cache venv on first use), started on loopback for
//! this test and stopped after it. Export, incremental re-export, import on
//! another device, the conditional manifest update under racing exports,
//! and a tampered object refused.

mod common;

use common::fleet;
use hearth_sync::{SNAPSHOT_FILE, SyncError, Target};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MOTO: &str = "moto[server]==5.2.5";

/// A moto server on a free loopback port, killed on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `moto_server` from `~/.cache/hearth/moto` (or `$HEARTH_CACHE_DIR/moto`),
/// installed by `scripts/setup-test-deps.sh` (pinned: the conditional-put
/// checks need moto ≥ 5.1). Never a silent skip: no server is a failure
/// naming the script.
fn moto_server() -> PathBuf {
    let cache = std::env::var_os("HEARTH_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/hearth")
        });
    let bin = cache.join("moto/bin/moto_server");
    let works = Command::new(&bin)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        works,
        "the S3 test needs moto's server ({MOTO}) at {}: run `bash scripts/setup-test-deps.sh` first",
        bin.display()
    );
    bin
}

fn start_moto() -> Moto {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(moto_server())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting moto_server");
    let moto = Moto { child, port };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "moto_server did not listen on {port} within a minute"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

/// `PUT /bucket` (moto takes unsigned requests): S3 has no bucket creation
/// in object_store, a user creates theirs once.
fn create_bucket(port: u16, bucket: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "create bucket: {reply}");
}

#[test]
fn export_and_import_through_a_real_s3_server() {
    let moto = start_moto();
    create_bucket(moto.port, "hearth");
    // SAFETY: the only test in this binary; set before any thread reads them.
    unsafe {
        std::env::set_var("AWS_ENDPOINT", format!("http://127.0.0.1:{}", moto.port));
        std::env::set_var("AWS_ALLOW_HTTP", "true");
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_REGION", "us-east-1");
    }
    let spec = "s3://hearth/people/alex";
    let target = Target::open(spec).unwrap();
    let mut f = fleet(3);
    for id in 0..4 {
        f[0].put(id, 0);
    }
    let first = f[0].export(&target).unwrap();
    assert_eq!(first.objects_written, 12);
    let again = f[0].export(&target).unwrap();
    assert_eq!((again.objects_written, again.objects_present), (0, 12));
    f[0].put(1, 3);
    let one = f[0].export(&target).unwrap();
    assert_eq!(one.objects_written, 3, "one new segment, three objects");

    let got = f[1].import(&target).unwrap();
    assert_eq!(got.documents_after, 4);
    assert_eq!(f[1].view(), f[0].view());

    // Racing exports: the conditional put (If-Match / If-None-Match) makes
    // the loser re-read and retry, so no head is lost.
    let mut racers: Vec<_> = f.drain(1..).collect();
    let handles: Vec<_> = racers
        .drain(..)
        .enumerate()
        .map(|(i, mut d)| {
            std::thread::spawn(move || {
                let target = Target::open(spec).unwrap();
                for round in 0..3u8 {
                    d.put(20 + i as u8 * 5 + round, round);
                    d.export(&target).unwrap();
                }
                d
            })
        })
        .collect();
    let mut rest: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    f.append(&mut rest);
    let snapshot = hearth_sync::read_snapshot(&f[0].keys, &target)
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.devices.len(), 3);
    assert_eq!(snapshot.version, 3 + 6);
    for d in &mut f {
        d.import(&target).unwrap();
    }
    assert_eq!(f[0].view().0.len(), 4 + 6);
    assert_eq!(f[1].view(), f[0].view());
    assert_eq!(f[2].view(), f[0].view());

    // A modified manifest in the bucket is refused; the index is untouched.
    let before = f[2].view();
    let sealed = target.get(SNAPSHOT_FILE).unwrap().unwrap();
    let mut bad = sealed.bytes.clone();
    let at = bad.len() - 8;
    bad[at] ^= 4;
    target.put(SNAPSHOT_FILE, bad).unwrap();
    let err = f[2].import(&target).unwrap_err();
    assert!(matches!(err, SyncError::Tampered { .. }), "{err}");
    assert_eq!(f[2].view(), before);
}
