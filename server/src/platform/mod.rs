//! The operating system read directly, where `sysinfo` does not reach: one place for the helper
//! commands that both the metrics sampler (`metrics`) and the hardware profile (`hardware`) run.

pub mod macos;
