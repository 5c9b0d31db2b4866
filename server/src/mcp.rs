//! `/mcp`: the host for agents (Claude Desktop, IDEs) through the Model Context Protocol, with
//! the official SDK (`rmcp`) over streamable HTTP.
//!
//! Agents get what the dashboard and the chat panel get, from the same sources: the newest
//! snapshot, the history store, the top-process lists (names only, never command lines), and
//! the chat pipeline's grounded answer (facts → diagnosis → model). Mounted on the loopback
//! router only, inside `security::guard` (Host and Origin) and the body limit, like every other
//! route; the remote listener never gets it. Stateless (no MCP sessions to keep or expire):
//! every tool answers from the host's own state, so a request needs nothing from the last one.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::chat::{
    CacheMode, ChatEvent, ChatRequest, Explanation, Fact, Finding, Intent, StopReason,
};
use app::error::ErrorCode;
use app::history::{Range, MAX_POINTS};
use app::i18n::Lang;
use app::model::{ProcessInfo, Thresholds};
use axum::{
    body::Body,
    extract::Request,
    http::{Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Json, Router,
};
use futures::{Stream, StreamExt};
use rmcp::{
    handler::server::{common::FromContextPart, router::tool::ToolRouter, tool::ToolCallContext},
    model::{
        CallToolResult, ClientJsonRpcMessage, ErrorCode as RpcCode, Implementation,
        ListResourcesResult, PaginatedRequestParams, ReadResourceRequestParams,
        ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ServerCapabilities,
        ServerConfig,
    },
    service::RequestContext,
    tool, tool_handler, tool_router,
    transport::streamable_http_server::{
        session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
    },
    ErrorData, RoleServer, ServerHandler,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::alerts::AlertConfig;
use crate::chat::{diagnosis, AskError};
use crate::error::ApiError;
use crate::state::AppState;

/// The snapshot resource: what `get_status` answers.
pub const STATUS_URI: &str = "mac-status://status";
/// The levels the dashboard, the diagnosis and the alerts use.
pub const THRESHOLDS_URI: &str = "mac-status://thresholds";
/// `get_history`'s points when the agent names none: enough for a trend, small in a context.
pub const DEFAULT_POINTS: usize = 120;
/// The most processes `top_processes` lists (the host keeps a shorter list by default).
pub const MAX_PROCESSES: u8 = 50;
/// `top_processes`'s length when the agent names none.
pub const DEFAULT_PROCESSES: u8 = 10;
/// The longest `ask` waits for its answer: the plan's deadline (5 s) ends generation well
/// before; this only bounds an engine that stops answering.
pub const ASK_LIMIT: Duration = Duration::from_secs(60);

/// Why a tool call is refused or fails; each becomes a JSON-RPC error.
#[derive(Debug, Error)]
pub enum McpError {
    #[error("invalid arguments: {0}")]
    Arguments(serde_json::Error),
    #[error("points must be between 2 and {MAX_POINTS}, got {0}")]
    Points(usize),
    #[error("limit must be between 1 and {MAX_PROCESSES}, got {0}")]
    Limit(u8),
    #[error("{0}")]
    Question(#[from] AskError),
    #[error("unknown resource {0:?} (known: {STATUS_URI}, {THRESHOLDS_URI})")]
    UnknownResource(String),
    #[error("cannot encode the answer: {0}")]
    Encode(#[from] serde_json::Error),
}

impl From<McpError> for ErrorData {
    fn from(e: McpError) -> Self {
        let message = e.to_string();
        match e {
            McpError::Arguments(_)
            | McpError::Points(_)
            | McpError::Limit(_)
            | McpError::Question(_) => ErrorData::invalid_params(message, None),
            McpError::UnknownResource(_) => ErrorData::resource_not_found(message, None),
            McpError::Encode(_) => ErrorData::internal_error(message, None),
        }
    }
}

/// A tool's arguments, deserialised strictly: arguments that do not fit the schema (a wrong
/// type, an unknown range, a missing field) are a JSON-RPC `invalid params` error, as every
/// other bad call is. (`rmcp`'s own `Parameters` turns them into a tool result flagged as an
/// error instead.) Named `Parameters` because the `#[tool]` macro finds a tool's input schema
/// by that name.
#[derive(Debug)]
pub struct Parameters<T>(pub T);

impl<T: JsonSchema> JsonSchema for Parameters<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<S, T: serde::de::DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Parameters<T> {
    fn from_context_part(context: &mut ToolCallContext<S>) -> Result<Self, ErrorData> {
        let arguments = context.arguments.take().unwrap_or_default();
        serde_json::from_value(serde_json::Value::Object(arguments))
            .map(Parameters)
            .map_err(|e| McpError::Arguments(e).into())
    }
}

/// `app::history::Range` as a tool argument: deserialised by the type's own serde names, and
/// described to agents with those same names (`app::wire::name`), so they are spelled once.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(transparent)]
pub struct RangeArg(pub Range);

impl JsonSchema for RangeArg {
    fn schema_name() -> Cow<'static, str> {
        "Range".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<String> = Range::ALL.iter().map(app::wire::name).collect();
        schemars::json_schema!({
            "type": "string",
            "enum": names,
            "description": "How far back: 10m and 1h from memory (2-second samples), \
                            24h and 7d from 1-minute rows, 90d from 1-hour rows."
        })
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryArgs {
    pub range: RangeArg,
    /// At most this many points (neighbours merged, minima and maxima kept); default 120.
    #[schemars(range(min = 2, max = 5000))]
    pub points: Option<usize>,
}

/// Which top list `top_processes` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProcessOrder {
    /// Most CPU first (percent of one core: 200 is two cores busy).
    Cpu,
    /// Most resident memory first.
    Memory,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopArgs {
    pub by: ProcessOrder,
    /// How many processes, 1 to 50 (default 10); the host keeps the top 8 unless configured.
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u8>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AskArgs {
    /// The question, in English or Japanese (at most 1000 characters).
    pub question: String,
}

/// `top_processes`'s answer: names and numbers, never command lines or environments.
#[derive(Debug, Serialize, Deserialize)]
pub struct TopProcesses {
    pub by: ProcessOrder,
    /// When the processes were sampled (ms since the Unix epoch).
    pub taken_at_ms: u64,
    /// Processes running in total (not only the listed ones).
    pub total: usize,
    pub processes: Vec<ProcessInfo>,
}

/// `ask`'s answer: what the chat panel shows, gathered into one result.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AskAnswer {
    pub language: Option<Lang>,
    pub intents: Vec<Intent>,
    /// The measured numbers the answer rests on.
    pub facts: Vec<Fact>,
    /// The computed findings, worst first, each with its level.
    pub findings: Vec<Finding>,
    /// The findings in one text, in the question's language.
    pub diagnosis: String,
    /// Whether a model explains and, when not, why the diagnosis is the whole answer.
    pub explanation: Option<Explanation>,
    /// The model's explanation, when a model wrote one.
    pub model_answer: Option<ModelAnswer>,
    /// The answer failed after the diagnosis (engine error, shutdown, time limit).
    pub error: Option<AskFailure>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ModelAnswer {
    pub text: String,
    pub stop: Option<StopReason>,
    /// True when the deadline or a cap ended the answer before the model did.
    pub cut: bool,
    /// Numbers in `text` that match no measured fact.
    pub unverified: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AskFailure {
    pub code: ErrorCode,
    pub message: String,
}

impl AskAnswer {
    /// Folds an answer's events (as `/api/v1/chat` streams them) into one result. The model's
    /// text is its final `done` answer, or the tokens so far when the stream ended without one;
    /// `cut` then says why.
    pub async fn collect(
        events: impl Stream<Item = ChatEvent>,
        cut: impl FnOnce() -> AskFailure,
    ) -> Self {
        let mut answer = AskAnswer::default();
        let mut tokens = String::new();
        let mut done = false;
        futures::pin_mut!(events);
        while let Some(ev) = events.next().await {
            match ev {
                ChatEvent::Start {
                    intents,
                    facts,
                    language,
                } => {
                    answer.intents = intents;
                    answer.facts = facts;
                    answer.language = Some(language);
                }
                ChatEvent::Diagnosis {
                    findings,
                    explanation,
                    ..
                } => {
                    let lang = answer.language.unwrap_or(Lang::En);
                    answer.diagnosis = diagnosis::render(&findings, lang);
                    answer.findings = findings;
                    answer.explanation = Some(explanation);
                }
                ChatEvent::Token { text } => tokens.push_str(&text),
                ChatEvent::Done {
                    answer: text,
                    stop,
                    cut,
                    unverified,
                    ..
                } => {
                    done = true;
                    if stop != StopReason::DiagnosisOnly {
                        answer.model_answer = Some(ModelAnswer {
                            text,
                            stop: Some(stop),
                            cut,
                            unverified,
                        });
                    }
                }
                ChatEvent::Error { code, message } => {
                    done = true;
                    answer.error = Some(AskFailure { code, message });
                }
            }
        }
        let explained = matches!(answer.explanation, Some(Explanation::Model { .. }));
        if explained && answer.model_answer.is_none() && !tokens.is_empty() {
            answer.model_answer = Some(ModelAnswer {
                text: tokens,
                stop: None,
                cut: true,
                unverified: Vec::new(),
            });
        }
        if !done && answer.error.is_none() {
            answer.error = Some(cut());
        }
        answer
    }
}

/// The thresholds resource: the levels every reading is judged by, and when one alerts.
#[derive(Debug, Serialize, Deserialize)]
pub struct ThresholdsDoc {
    /// The dashboard's and the diagnosis' levels, in percent (careful, warning, critical).
    pub levels: LevelSet,
    /// The alerts' rules (`[alerts]` in the config file, or their defaults).
    pub alerts: AlertConfig,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LevelSet {
    pub cpu: Thresholds,
    pub memory: Thresholds,
    pub disk: Thresholds,
}

impl ThresholdsDoc {
    pub fn new(alerts: &AlertConfig) -> Self {
        ThresholdsDoc {
            levels: LevelSet {
                cpu: Thresholds::CPU,
                memory: Thresholds::MEMORY,
                disk: Thresholds::DISK,
            },
            alerts: alerts.clone(),
        }
    }
}

/// A tool's answer: the JSON as structured content and as text (for clients that read only
/// text).
fn structured(value: &impl Serialize) -> Result<CallToolResult, ErrorData> {
    let value = serde_json::to_value(value).map_err(McpError::from)?;
    Ok(CallToolResult::structured(value))
}

/// One MCP server per request (the transport is stateless); cloning shares the host's state.
#[derive(Clone)]
pub struct McpServer {
    state: AppState,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl McpServer {
    pub fn new(state: AppState) -> Self {
        McpServer {
            state,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "The Mac's current readings: CPU (total and per core, load), memory and \
                       swap, disks, network, top processes, temperatures, battery. One sample, \
                       taken every 2 seconds.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn get_status(&self) -> Result<CallToolResult, ErrorData> {
        structured(&*self.state.metrics.latest())
    }

    #[tool(
        description = "CPU, memory, swap, network and disk history over a range (10m, 1h, \
                       24h, 7d, 90d): min/mean/max per point, at most `points` points \
                       (default 120).",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn get_history(
        &self,
        Parameters(args): Parameters<HistoryArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let points = args.points.unwrap_or(DEFAULT_POINTS);
        if !(2..=MAX_POINTS).contains(&points) {
            return Err(McpError::Points(points).into());
        }
        let answer = self
            .state
            .history
            .range(args.range.0, &self.state.metrics)
            .await
            .downsample(points);
        structured(&answer)
    }

    #[tool(
        description = "The processes using the most CPU or memory right now, largest first: \
                       name, pid, CPU percent (of one core) and resident bytes. Names only, \
                       never command lines.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn top_processes(
        &self,
        Parameters(args): Parameters<TopArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let limit = args.limit.unwrap_or(DEFAULT_PROCESSES);
        if !(1..=MAX_PROCESSES).contains(&limit) {
            return Err(McpError::Limit(limit).into());
        }
        let snapshot = self.state.metrics.latest();
        let lists = &snapshot.processes;
        let mut processes = match args.by {
            ProcessOrder::Cpu => lists.by_cpu.clone(),
            ProcessOrder::Memory => lists.by_memory.clone(),
        };
        // The collector sorts its lists; sorting again keeps the promise if that ever moves.
        match args.by {
            ProcessOrder::Cpu => processes.sort_by(|a, b| b.cpu_pct.total_cmp(&a.cpu_pct)),
            ProcessOrder::Memory => processes.sort_by_key(|p| std::cmp::Reverse(p.memory_bytes)),
        }
        processes.truncate(usize::from(limit));
        structured(&TopProcesses {
            by: args.by,
            taken_at_ms: snapshot.taken_at_ms,
            total: lists.count,
            processes,
        })
    }

    #[tool(
        description = "Ask about this Mac (\"why is it slow?\", \"is memory OK?\"). Answers \
                       from measurements: the facts used, the computed findings with their \
                       levels (normal, careful, warning, critical), and, when a local model is \
                       loaded, its short explanation of them.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn ask(
        &self,
        Parameters(args): Parameters<AskArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let events = self
            .state
            .assistant
            .ask(ChatRequest {
                question: args.question,
                strategy: None,
                history: Vec::new(),
                cache: CacheMode::Use,
            })
            .map_err(McpError::from)?;
        // Bounded like the chat stream: the host's stop or the time limit ends it, and
        // dropping the stream frees the engine.
        let events = events
            .take_until(self.state.shutdown.clone().cancelled_owned())
            .take_until(tokio::time::sleep(ASK_LIMIT));
        let shutdown = self.state.shutdown.clone();
        let cut = move || match shutdown.is_cancelled() {
            true => AskFailure {
                code: ErrorCode::ShuttingDown,
                message: "the host is stopping; ask again once it is back".into(),
            },
            false => AskFailure {
                code: ErrorCode::EngineInternal,
                message: format!("no complete answer within {} s", ASK_LIMIT.as_secs()),
            },
        };
        structured(&AskAnswer::collect(events, cut).await)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new(app::NAME, env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Mac Status: this Mac's live readings, history, top processes and grounded \
             answers. Numbers come from measurements; `ask` adds a local model's explanation \
             of the computed findings when one is loaded.",
        )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(vec![
            Resource::new(STATUS_URI, "status")
                .with_description("The current snapshot (what get_status answers).")
                .with_mime_type("application/json"),
            Resource::new(THRESHOLDS_URI, "thresholds")
                .with_description(
                    "The levels readings are judged by (careful, warning, critical, in \
                     percent) and the alerts' rules.",
                )
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let json = match request.uri.as_str() {
            STATUS_URI => serde_json::to_string(&*self.state.metrics.latest()),
            THRESHOLDS_URI => {
                serde_json::to_string(&ThresholdsDoc::new(&self.state.alerts.config()))
            }
            other => return Err(McpError::UnknownResource(other.to_owned()).into()),
        }
        .map_err(McpError::from)?;
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(json, request.uri).with_mime_type("application/json")
        ])
        .into())
    }
}

/// What the SDK cannot read as one JSON-RPC message (not JSON, a batch, a message of no known
/// shape) gets a JSON-RPC error (`-32700` parse error, `-32600` invalid request) with `400`,
/// where the SDK would answer `415` and plain text. The body is parsed with the SDK's own type,
/// so what passes here is what it accepts; the body limit was applied outside.
pub async fn malformed_json_rpc(req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::routes::MAX_BODY_BYTES).await else {
        return ApiError::BodyTooLarge {
            limit: crate::routes::MAX_BODY_BYTES,
        }
        .into_response();
    };
    if let Err(e) = serde_json::from_slice::<ClientJsonRpcMessage>(&bytes) {
        let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok();
        let (code, what) = match is_json {
            true => (RpcCode::INVALID_REQUEST, "invalid request"),
            false => (RpcCode::PARSE_ERROR, "parse error"),
        };
        let body = serde_json::json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": { "code": code.0, "message": format!("{what}: {e}") },
        });
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// `/mcp` for the loopback router: the service behind [`malformed_json_rpc`].
pub fn router(state: AppState) -> Router<AppState> {
    let bound = state.leptos_options.site_addr;
    Router::new()
        .route_service("/mcp", service(state, bound))
        .layer(middleware::from_fn(malformed_json_rpc))
}

/// The `/mcp` service for the loopback router. `bound` is the address the host listens on:
/// the SDK's own Host and Origin checks repeat `security::guard`'s (this origin only), so the
/// service stays safe wherever it is mounted.
pub fn service(
    state: AppState,
    bound: SocketAddr,
) -> StreamableHttpService<McpServer, LocalSessionManager> {
    let port = bound.port();
    let hosts = [bound.to_string(), format!("localhost:{port}")];
    let origins = hosts
        .iter()
        .map(|h| format!("http://{h}"))
        .collect::<Vec<_>>();
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .with_max_request_body_bytes(crate::routes::MAX_BODY_BYTES)
        .with_cancellation_token(state.shutdown.child_token());
    let server = McpServer::new(state);
    StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::Level;
    use futures::stream;

    fn finding(level: Level) -> Finding {
        serde_json::from_value(serde_json::json!({
            "topic": "cpu", "level": level, "facts": ["cpu.total"],
            "en": "CPU is at 91 %.", "ja": "CPU は 91 % です。"
        }))
        .unwrap()
    }

    fn start() -> ChatEvent {
        ChatEvent::Start {
            intents: vec![],
            facts: vec![Fact {
                key: "cpu.total".into(),
                label: "CPU".into(),
                value: "91 %".into(),
            }],
            language: Lang::En,
        }
    }

    fn diagnosis(explanation: Explanation) -> ChatEvent {
        ChatEvent::Diagnosis {
            findings: vec![finding(Level::Critical)],
            explanation,
            snapshot: Box::default(),
        }
    }

    fn done(answer: &str, stop: StopReason) -> ChatEvent {
        ChatEvent::Done {
            answer: answer.into(),
            stop,
            cut: false,
            timings: Default::default(),
            unverified: vec![],
        }
    }

    fn cut() -> AskFailure {
        AskFailure {
            code: ErrorCode::EngineInternal,
            message: "cut".into(),
        }
    }

    #[tokio::test]
    async fn a_model_answer_keeps_facts_findings_and_text() {
        let events = [
            start(),
            diagnosis(Explanation::Model { model: "m".into() }),
            ChatEvent::Token {
                text: "Busy.".into(),
            },
            done("Busy.", StopReason::EndOfGeneration),
        ];
        let a = AskAnswer::collect(stream::iter(events), cut).await;
        assert_eq!(a.facts.len(), 1);
        assert_eq!(a.findings[0].level, Level::Critical);
        assert!(a.diagnosis.contains("91"), "{}", a.diagnosis);
        let m = a.model_answer.expect("the model's text");
        assert_eq!(
            (m.text.as_str(), m.stop),
            ("Busy.", Some(StopReason::EndOfGeneration))
        );
        assert!(a.error.is_none());
    }

    #[tokio::test]
    async fn without_a_model_the_diagnosis_is_the_answer() {
        let events = [
            start(),
            diagnosis(Explanation::Busy),
            done("CPU is at 91 %.", StopReason::DiagnosisOnly),
        ];
        let a = AskAnswer::collect(stream::iter(events), cut).await;
        assert!(a.model_answer.is_none());
        assert_eq!(a.findings.len(), 1);
        assert!(a.error.is_none());
    }

    #[tokio::test]
    async fn a_stream_cut_short_keeps_its_tokens_and_says_so() {
        let events = [
            start(),
            diagnosis(Explanation::Model { model: "m".into() }),
            ChatEvent::Token {
                text: "Half an".into(),
            },
        ];
        let a = AskAnswer::collect(stream::iter(events), cut).await;
        let m = a.model_answer.expect("the tokens so far");
        assert_eq!((m.text.as_str(), m.cut), ("Half an", true));
        assert_eq!(
            a.error.expect("marked as cut").code,
            ErrorCode::EngineInternal
        );
    }

    #[test]
    fn the_range_schema_lists_the_wire_names() {
        let schema = schemars::schema_for!(HistoryArgs);
        let json = serde_json::to_string(&schema).unwrap();
        for name in ["10m", "1h", "24h", "7d", "90d"] {
            assert!(json.contains(&format!("\"{name}\"")), "{json}");
        }
        let args: HistoryArgs = serde_json::from_value(serde_json::json!({"range": "7d"})).unwrap();
        assert_eq!(args.range.0, Range::Week);
        assert!(serde_json::from_value::<HistoryArgs>(serde_json::json!({"range": "2d"})).is_err());
        // The schema's bound is the API's.
        let points = &serde_json::to_value(&schema).unwrap()["properties"]["points"];
        assert_eq!(points["maximum"], serde_json::json!(MAX_POINTS), "{points}");
        let limit = schemars::schema_for!(TopArgs);
        let limit = &serde_json::to_value(&limit).unwrap()["properties"]["limit"];
        assert_eq!(
            limit["maximum"],
            serde_json::json!(MAX_PROCESSES),
            "{limit}"
        );
    }

    #[test]
    fn bad_arguments_are_invalid_params() {
        let e = ErrorData::from(McpError::Points(1));
        assert_eq!(e.code, rmcp::model::ErrorCode::INVALID_PARAMS);
        let e = ErrorData::from(McpError::Question(AskError::Empty));
        assert_eq!(e.code, rmcp::model::ErrorCode::INVALID_PARAMS);
    }
}
