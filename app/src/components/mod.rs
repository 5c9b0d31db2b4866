//! Leptos components, one module per part of the page.

pub mod chart;
pub mod chat;
pub mod dashboard;
pub mod processes;
pub mod profile;
