//! Price and cost arithmetic (integer pico-dollars per token, micro-dollar totals).
