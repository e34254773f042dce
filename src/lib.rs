//! routesim: a deterministic discrete-event simulator of Apache RocketMQ's routing center.
//!
//! Layers, data flowing one way: `scenario` (YAML → validated config) → `model` (the world:
//! NameServers, brokers, producers over `net`, driven by `engine`) → `metrics` → `output`.
//! See ARCHITECTURE.md.

pub mod engine;
pub mod output;
