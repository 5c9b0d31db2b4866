//! Leptos components, one module per part of the page; the pages (`crate::pages`) lay them out.

pub mod alerts;
pub mod cards;
pub mod chart;
pub mod chat;
pub mod processes;
pub mod profile;
pub mod widgets;
