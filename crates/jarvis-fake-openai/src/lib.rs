//! jarvis-fake-openai
