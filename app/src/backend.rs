//! What server functions need from the host, as a trait object in the Leptos context: the
//! `app` crate stays free of sysinfo and llama.cpp, and the host owns the real implementation.

use std::sync::Arc;

use crate::alert::Alert;
use crate::chat::AssistantStatus;
use crate::model::{HistoryPoint, Snapshot};
use crate::profile::ProfileReport;

pub trait StatusSource: Send + Sync + 'static {
    fn snapshot(&self) -> Arc<Snapshot>;
    fn history_minutes(&self, minutes: u32) -> Vec<HistoryPoint>;
    fn assistant(&self) -> AssistantStatus;
    fn profile(&self) -> ProfileReport;
    /// Open alerts, then ended ones, newest first.
    fn alerts(&self) -> Vec<Alert>;
}

/// Cheap-to-clone handle provided to every SSR render and server function call.
#[derive(Clone)]
pub struct Backend(pub Arc<dyn StatusSource>);

impl std::ops::Deref for Backend {
    type Target = dyn StatusSource;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}
