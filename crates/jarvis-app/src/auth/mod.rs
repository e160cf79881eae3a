//! Authentication primitives without HTTP: the master key and sealing, access-token signing
//! keys, password hashing, TOTP, and the trusted-proxy rules for client addresses.

pub mod crypto;
pub mod keys;
pub mod net;
pub mod password;
pub mod totp;
