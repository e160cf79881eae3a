//! Domain entities of the tenancy core and their validated inputs.

mod account;
mod activity;
mod analysis;
mod audit;
mod franchise;
mod gym;
mod http_tool;
mod import;
mod job;
mod kiosk;
mod knowledge;
mod lead;
mod member;
mod schedule;
mod user;
mod voice;

pub use account::*;
pub use activity::*;
pub use analysis::*;
pub use audit::*;
pub use franchise::*;
pub use gym::*;
pub use http_tool::*;
pub use import::*;
pub use job::*;
pub use kiosk::*;
pub use knowledge::*;
pub use lead::*;
pub use member::*;
pub use schedule::*;
pub use user::*;
pub use voice::*;

use serde::{Deserialize, Deserializer, Serialize};

/// A UI and assistant language.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// French.
    #[default]
    Fr,
    /// English.
    En,
}

impl Locale {
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Locale::Fr => "fr",
            Locale::En => "en",
        }
    }
    /// Parses a stored or user-given value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "fr" => Some(Locale::Fr),
            "en" => Some(Locale::En),
            _ => None,
        }
    }
}

/// Deserializes a PATCH field so that "absent" (`None`) and "explicit null" (`Some(None)`) differ.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}
