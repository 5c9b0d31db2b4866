//! `/mcp` from outside: the real binary on a free loopback port, driven by the MCP SDK's own
//! client (`rmcp`, streamable HTTP) — tools, resources, bad calls — and by raw HTTP for what a
//! client library would not send (a foreign `Origin` or `Host`, malformed JSON-RPC).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::{HeaderName, HeaderValue};
use rmcp::{
    model::{
        CallToolRequestParams, CallToolResult, ClientConfig, ErrorCode, ReadResourceRequestParams,
    },
    service::{RoleClient, RunningService},
    transport::{
        streamable_http_client::StreamableHttpClientTransportConfig, StreamableHttpClientTransport,
    },
    ServiceError, ServiceExt,
};
use serde_json::{json, Value};

mod common;

/// The real host on a free loopback port, stopped when dropped.
struct Host {
    child: Child,
    addr: String,
}

impl Host {
    /// With the default model, or `--no-model`. The tests run in parallel, and a port probed
    /// free can be taken again before the host binds it (it then exits at once, status 78):
    /// such a start is retried on another port.
    fn start(with_model: bool) -> Host {
        for _ in 0..5 {
            if let Some(host) = Self::try_start(with_model) {
                return host;
            }
        }
        panic!("the host did not start serving on any of five ports");
    }

    fn try_start(with_model: bool) -> Option<Host> {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap().to_string();
        drop(probe);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mac-status"));
        cmd.args(["--addr", &addr, "--no-history"]);
        if with_model {
            cmd.arg("--model").arg(common::model_path());
        } else {
            cmd.arg("--no-model");
        }
        let mut child = cmd
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the host starts");
        // Serving once it says so (the model, when asked for, is loaded before that line).
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains("is running at") {
                    let _ = tx.send(());
                }
            }
        });
        let host = Host { child, addr };
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(()) => Some(host),
            // The output closed: the host exited (the port was taken); `host` is dropped.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => None,
            Err(e) => panic!("the host did not start serving: {e}"),
        }
    }

    fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    async fn client(&self) -> RunningService<RoleClient, ClientConfig> {
        self.client_with(HashMap::new())
            .await
            .expect("the MCP client connects")
    }

    async fn client_with(
        &self,
        headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<RunningService<RoleClient, ClientConfig>, impl std::fmt::Debug> {
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(self.url()).custom_headers(headers),
        );
        ClientConfig::default().serve(transport).await
    }

    /// `GET path` over plain HTTP, as JSON.
    fn get_json(&self, path: &str) -> Value {
        let (status, body) = raw(&self.addr, "GET", path, &self.addr, &[], "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request with exactly these headers (a client library would fix `Host`);
/// returns the status and the body.
fn raw(
    addr: &str,
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

const JSON_RPC_HEADERS: [(&str, &str); 2] = [
    ("Content-Type", "application/json"),
    ("Accept", "application/json, text/event-stream"),
];

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#;

fn args(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().unwrap().clone()
}

async fn call(
    client: &RunningService<RoleClient, ClientConfig>,
    name: &'static str,
    arguments: Value,
) -> Result<CallToolResult, ServiceError> {
    client
        .call_tool(CallToolRequestParams::new(name).with_arguments(args(arguments)))
        .await
}

/// A tool's structured answer (also checked to be the same JSON as its text content).
fn answer(result: CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let value = result
        .structured_content
        .clone()
        .expect("structured content");
    let text = result.content[0]
        .as_text()
        .expect("text content")
        .text
        .clone();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
    value
}

fn error_code(r: Result<CallToolResult, ServiceError>) -> ErrorCode {
    match r {
        Err(ServiceError::McpError(e)) => e.code,
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

/// The names a property of an input schema allows: its `enum`, or the `const`s of its
/// `oneOf`, through a `$ref` into `$defs` if there is one.
fn enum_names(schema: &Value, property: &str) -> Vec<String> {
    let mut p = &schema["properties"][property];
    if let Some(r) = p["$ref"].as_str() {
        p = &schema["$defs"][r.rsplit('/').next().unwrap()];
    }
    let names = match p["enum"].as_array() {
        Some(e) => e.iter().collect::<Vec<_>>(),
        None => p["oneOf"]
            .as_array()
            .unwrap_or_else(|| panic!("{property} is no enum: {schema}"))
            .iter()
            .map(|v| &v["const"])
            .collect(),
    };
    names
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Descending by `key`, each entry's name present and nothing like a command line.
fn assert_top_list(list: &[Value], key: &str) {
    assert!(!list.is_empty());
    for pair in list.windows(2) {
        assert!(
            pair[0][key].as_f64().unwrap() >= pair[1][key].as_f64().unwrap(),
            "not sorted by {key}: {list:#?}"
        );
    }
    for p in list {
        assert!(p["name"].is_string(), "{p}");
        let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
        assert!(
            keys.iter()
                .all(|k| ["pid", "name", "cpu_pct", "memory_bytes"].contains(&k.as_str())),
            "{keys:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_and_resources_answer_from_the_real_host() {
    let host = Host::start(true);
    let client = host.client().await;

    let mut tools = client.list_all_tools().await.unwrap();
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = tools.iter().map(|t| &*t.name).collect();
    assert_eq!(names, ["ask", "get_history", "get_status", "top_processes"]);
    // Enums, not free strings, in the input schemas.
    let schema = |name: &str| {
        let t = tools.iter().find(|t| t.name == name).unwrap();
        serde_json::to_value(&*t.input_schema).unwrap()
    };
    assert_eq!(
        enum_names(&schema("top_processes"), "by"),
        ["cpu", "memory"]
    );
    assert_eq!(
        enum_names(&schema("get_history"), "range"),
        ["10m", "1h", "24h", "7d", "90d"]
    );

    // get_status: the same machine as /api/v1/status.
    let status = answer(call(&client, "get_status", json!({})).await.unwrap());
    let api = host.get_json("/api/v1/status");
    let cores = |s: &Value| s["cpu"]["per_core_pct"].as_array().unwrap().len();
    assert!(cores(&status) > 0);
    assert_eq!(cores(&status), cores(&api));
    assert_eq!(
        status["memory"]["total_bytes"],
        api["memory"]["total_bytes"]
    );

    // get_history: the range echoed, the points capped (default 120, or as asked).
    for (range, points, cap) in [("10m", None, 120), ("1h", Some(5), 5), ("24h", Some(2), 2)] {
        let mut a = json!({ "range": range });
        if let Some(n) = points {
            a["points"] = json!(n);
        }
        let h = answer(call(&client, "get_history", a).await.unwrap());
        assert_eq!(h["range"], range, "{h}");
        assert!(h["points"].as_array().unwrap().len() <= cap, "{h}");
    }
    // The live ring has a sample or more by now.
    let h = answer(
        call(&client, "get_history", json!({"range": "10m"}))
            .await
            .unwrap(),
    );
    assert!(!h["points"].as_array().unwrap().is_empty(), "{h}");

    // top_processes: largest first, the limit kept. (The first process sample lands a few
    // ticks after start-up.)
    let deadline = Instant::now() + Duration::from_secs(20);
    let top = loop {
        let t = answer(
            call(&client, "top_processes", json!({"by": "cpu", "limit": 3}))
                .await
                .unwrap(),
        );
        if !t["processes"].as_array().unwrap().is_empty() || Instant::now() > deadline {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(top["by"], "cpu");
    assert!(top["processes"].as_array().unwrap().len() <= 3, "{top}");
    assert_top_list(top["processes"].as_array().unwrap(), "cpu_pct");
    let top = answer(
        call(&client, "top_processes", json!({"by": "memory"}))
            .await
            .unwrap(),
    );
    assert_eq!(top["by"], "memory");
    assert!(top["total"].as_u64().unwrap() >= top["processes"].as_array().unwrap().len() as u64);
    assert_top_list(top["processes"].as_array().unwrap(), "memory_bytes");

    // ask: facts, findings with levels, and the model's words.
    let a = answer(
        call(
            &client,
            "ask",
            json!({"question": "Why is my Mac slow? Check the CPU."}),
        )
        .await
        .unwrap(),
    );
    assert!(!a["facts"].as_array().unwrap().is_empty(), "{a:#}");
    let findings = a["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "{a:#}");
    for f in findings {
        assert!(
            ["normal", "careful", "warning", "critical"].contains(&f["level"].as_str().unwrap()),
            "{f}"
        );
    }
    assert_eq!(a["explanation"]["kind"], "model", "{a:#}");
    assert!(
        a["diagnosis"].as_str().is_some_and(|d| !d.is_empty()),
        "{a:#}"
    );
    let text = a["model_answer"]["text"].as_str().unwrap_or_default();
    assert!(!text.trim().is_empty(), "the model explains: {a:#}");
    assert!(a["error"].is_null(), "{a:#}");

    // Resources: the snapshot and the thresholds.
    let mut uris: Vec<String> = client
        .list_all_resources()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.uri.clone())
        .collect();
    uris.sort();
    assert_eq!(uris, ["mac-status://status", "mac-status://thresholds"]);
    let read = |uri: &'static str| {
        let client = &client;
        async move {
            let r = client
                .read_resource(ReadResourceRequestParams::new(uri))
                .await
                .unwrap();
            let v = serde_json::to_value(&r.contents[0]).unwrap();
            serde_json::from_str::<Value>(v["text"].as_str().unwrap()).unwrap()
        }
    };
    let snapshot = read("mac-status://status").await;
    assert_eq!(cores(&snapshot), cores(&api));
    let thresholds = read("mac-status://thresholds").await;
    assert_eq!(
        thresholds["levels"]["cpu"],
        json!({"careful": 65.0, "warning": 75.0, "critical": 85.0})
    );
    assert_eq!(thresholds["alerts"]["min_level"], "warning");
    assert_eq!(thresholds["alerts"]["disk"]["critical"], 95.0);

    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_model_ask_answers_with_the_diagnosis_alone() {
    let host = Host::start(false);
    let client = host.client().await;
    let a = answer(
        call(&client, "ask", json!({"question": "Is my memory OK?"}))
            .await
            .unwrap(),
    );
    assert!(!a["facts"].as_array().unwrap().is_empty(), "{a:#}");
    assert!(!a["findings"].as_array().unwrap().is_empty(), "{a:#}");
    assert!(
        a["diagnosis"].as_str().is_some_and(|d| !d.is_empty()),
        "{a:#}"
    );
    assert!(a["model_answer"].is_null(), "{a:#}");
    // It says why no model explains.
    assert_eq!(a["explanation"]["kind"], "model_unavailable", "{a:#}");
    assert_eq!(a["explanation"]["code"], "model_disabled", "{a:#}");
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_calls_are_json_rpc_errors_and_the_host_stays_up() {
    let host = Host::start(false);
    let client = host.client().await;
    for (tool, arguments) in [
        ("no_such_tool", json!({})),
        ("get_history", json!({"range": 5})),
        ("get_history", json!({"range": "2d"})),
        ("get_history", json!({})),
        ("get_history", json!({"range": "1h", "points": 1})),
        ("get_history", json!({"range": "1h", "points": "many"})),
        ("get_history", json!({"range": "1h", "extra": true})),
        ("top_processes", json!({"by": "disk"})),
        ("top_processes", json!({"by": "cpu", "limit": 51})),
        ("top_processes", json!({"by": "cpu", "limit": -1})),
        ("ask", json!({"question": "   "})),
        ("ask", json!({"question": "x".repeat(1001)})),
        ("ask", json!({"question": 42})),
    ] {
        let got = error_code(call(&client, tool, arguments.clone()).await);
        assert_eq!(got, ErrorCode::INVALID_PARAMS, "{tool} {arguments}");
    }
    // Resource not found: -32002 before protocol 2026-07-28, invalid params from it on.
    let missing = client
        .read_resource(ReadResourceRequestParams::new("mac-status://nothing"))
        .await;
    match missing {
        Err(ServiceError::McpError(e)) => assert!(
            [ErrorCode::RESOURCE_NOT_FOUND, ErrorCode::INVALID_PARAMS].contains(&e.code),
            "{e:?}"
        ),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
    // The same client still works after all that.
    answer(call(&client, "get_status", json!({})).await.unwrap());
    client.cancel().await.unwrap();

    // Malformed JSON-RPC, below what a client library sends: a JSON-RPC error, not a 500.
    let origin = format!("http://{}", host.addr);
    let mut headers = JSON_RPC_HEADERS.to_vec();
    headers.push(("Origin", &origin));
    for body in [
        r#"{"jsonrpc":"2.0","id":1,"method":"#,
        "not json",
        r#"{"jsonrpc":"2.0","id":1}"#,
        r#"[1, 2, 3]"#,
    ] {
        let (status, text) = raw(&host.addr, "POST", "/mcp", &host.addr, &headers, body);
        assert!((400..500).contains(&status), "{status} {text} for {body}");
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status} {text}"));
        assert_eq!(v["jsonrpc"], "2.0", "{text}");
        assert!(v["error"]["code"].is_i64(), "{text}");
    }
    assert_eq!(
        raw(&host.addr, "GET", "/healthz", &host.addr, &[], "").0,
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_origin_or_host_is_refused() {
    let host = Host::start(false);
    let addr = host.addr.as_str();
    let own_origin = format!("http://{addr}");
    let with = |extra: (&'static str, &str)| {
        let mut h: Vec<(&str, String)> = JSON_RPC_HEADERS
            .iter()
            .map(|(k, v)| (*k, v.to_string()))
            .collect();
        h.push((extra.0, extra.1.to_string()));
        h
    };
    let post = |host_header: &str, headers: &[(&str, String)]| {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        raw(addr, "POST", "/mcp", host_header, &h, INITIALIZE)
    };
    // The control: this origin, this host.
    let (status, body) = post(addr, &with(("Origin", &own_origin)));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"result\""), "{body}");
    // A web page elsewhere, a DNS-rebound name, another port.
    let (status, body) = post(addr, &with(("Origin", "https://evil.example")));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("cross_origin"), "{body}");
    let (status, _) = post(addr, &with(("Sec-Fetch-Site", "cross-site")));
    assert_eq!(status, 403);
    let port = addr.rsplit_once(':').unwrap().1;
    let (status, body) = post(&format!("evil.example:{port}"), &with(("Accept", "*/*")));
    assert_eq!(status, 421, "{body}");
    assert!(body.contains("bad_host"), "{body}");
    let (status, _) = post("127.0.0.1:1", &with(("Accept", "*/*")));
    assert_eq!(status, 421);

    // The SDK's client with a foreign Origin does not get in either.
    let headers = HashMap::from([(
        HeaderName::from_static("origin"),
        HeaderValue::from_static("https://evil.example"),
    )]);
    assert!(host.client_with(headers).await.is_err());
    // And with its own origin it does.
    let headers = HashMap::from([(
        HeaderName::from_static("origin"),
        HeaderValue::from_str(&own_origin).unwrap(),
    )]);
    let client = host
        .client_with(headers)
        .await
        .expect("same origin connects");
    answer(call(&client, "get_status", json!({})).await.unwrap());
    client.cancel().await.unwrap();
}
