//! Routed pages: each loads its data and lays out the components.

pub mod dashboard;
