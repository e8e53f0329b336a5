//! `smesh sim run --serve`: a finished run's node answers the node API (JSON gateway) with the
//! run's final state, serves the dashboard, and refuses transactions.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// One JSON POST over HTTP/1.0 (the connection closes after the answer): status and body.
fn post(addr: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connecting to the gateway");
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().expect("an HTTP status");
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[test]
fn finished_run_is_served() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smesh"))
        .args(["sim", "run", "--scenario", "mainnet-like", "--nodes", "10", "--seed", "2"])
        .args(["--no-invariants", "--serve", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("running smesh");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let serving = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.starts_with("serving node"))
        .expect("a 'serving node' line");
    let addr = serving
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the dashboard's address")
        .to_owned();

    let (code, body) = post(&addr, "/spacemesh.v2alpha1.NodeService/Status", "{}");
    assert_eq!(code, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["status"], "SYNC_STATUS_SYNCED", "{body}");
    assert!(status["currentLayer"].as_u64().unwrap() >= 40, "the run's end: {body}");
    let applied = status["appliedLayer"].as_u64().unwrap();

    let (code, body) = post(
        &addr,
        "/spacemesh.v2alpha1.LayerService/List",
        r#"{"startLayer":0,"endLayer":1000,"limit":"100"}"#,
    );
    assert_eq!(code, 200, "{body}");
    let layers: serde_json::Value = serde_json::from_str(&body).unwrap();
    let layers = layers["layers"].as_array().expect("layers");
    assert!(!layers.is_empty(), "{body}");
    let last = layers.last().unwrap();
    assert_eq!(last["number"].as_u64(), Some(applied), "{body}");
    assert!(last["stateHash"].as_str().is_some_and(|h| !h.is_empty()), "{body}");

    let (code, body) = post(
        &addr,
        "/spacemesh.v2alpha1.TransactionService/SubmitTransaction",
        r#"{"transaction":"AAAA"}"#,
    );
    assert!(code >= 400 || body.contains("finished simulation"), "{code} {body}");

    let mut page = TcpStream::connect(&addr).unwrap();
    write!(page, "GET / HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut html = String::new();
    page.read_to_string(&mut html).unwrap();
    assert!(html.starts_with("HTTP/1.0 200") || html.starts_with("HTTP/1.1 200"), "{html}");
    assert!(html.contains("dashboard.js"));

    child.kill().unwrap();
    child.wait().unwrap();
}
