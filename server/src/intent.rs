//! Intent detection.
