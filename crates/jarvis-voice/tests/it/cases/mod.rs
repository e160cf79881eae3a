//! The test cases, one module per concern; each runs on both backends (see `main.rs`).

mod analysis;
mod budget;
mod conversation;
mod faults;
mod gym_tools;
mod knowledge;
mod lifecycle;
mod limits;
mod metering;
mod simulate;
mod transcripts;

pub use analysis::*;
pub use budget::*;
pub use conversation::*;
pub use faults::*;
pub use gym_tools::*;
pub use knowledge::*;
pub use lifecycle::*;
pub use limits::*;
pub use metering::*;
pub use simulate::*;
pub use transcripts::*;
