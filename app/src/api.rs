//! Server functions: the host answers them from its live collector; the browser calls them
//! over HTTP after hydration, and SSR calls them in-process for the first paint.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::chat::AssistantStatus;
use crate::i18n::Lang;
use crate::model::{HistoryPoint, Snapshot};
use crate::profile::ProfileReport;

/// Everything the first paint needs in one round trip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardData {
    pub snapshot: Snapshot,
    pub history: Vec<HistoryPoint>,
    /// From the request's `Accept-Language`, so the server-rendered page is already in the
    /// reader's language; a saved toggle in the browser wins after hydration.
    pub lang: Lang,
    pub assistant: AssistantStatus,
    pub profile: ProfileReport,
    pub alerts: Vec<Alert>,
}

/// Minutes of history the dashboard charts show.
pub const CHART_MINUTES: u32 = 10;

#[server(prefix = "/api/fn", endpoint = "dashboard")]
pub async fn get_dashboard() -> Result<DashboardData, ServerFnError> {
    use crate::backend::Backend;
    let backend = expect_context::<Backend>();
    let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
    let lang = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default();
    Ok(DashboardData {
        snapshot: (*backend.snapshot()).clone(),
        history: backend.history_minutes(CHART_MINUTES),
        lang,
        assistant: backend.assistant(),
        profile: backend.profile(),
        alerts: backend.alerts(),
    })
}
