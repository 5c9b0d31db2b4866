//! The dashboard's status cards, one per file; each reads the shared `LiveState`.

mod cpu;
mod disk;
mod host;
mod memory;
mod network;
mod sensors;

pub use cpu::CpuCard;
pub use disk::DiskCard;
pub use host::HostCard;
pub use memory::MemoryCard;
pub use network::NetworkCard;
pub use sensors::SensorsCard;
