//! jarvis-server
