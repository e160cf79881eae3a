//! The gym knowledge base: the JSON API (`/api/v1/gyms/{gym}/knowledge`: CRUD, import, search)
//! and the dashboard pages (list with search, entry form, delete confirmation, import upload,
//! "try a question"), over `jarvis_app::knowledge`.

pub mod api;
pub mod pages;
