//! jarvis-store
