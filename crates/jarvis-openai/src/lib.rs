//! jarvis-openai
