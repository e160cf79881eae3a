//! The test cases, one module per concern; each runs on both backends (see `main.rs`).

mod budget;
mod conversation;
mod faults;
mod gym_tools;
mod lifecycle;
mod limits;
mod metering;
mod transcripts;

pub use budget::*;
pub use conversation::*;
pub use faults::*;
pub use gym_tools::*;
pub use lifecycle::*;
pub use limits::*;
pub use metering::*;
pub use transcripts::*;
