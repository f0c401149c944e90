//! Transports move frames and bytes; they know nothing of protocols.

pub mod ws;
