//! Dialects: the protocols spoken over a transport. Raw messages need no
//! state and live in the session; STOMP is a client state machine here.

pub mod stomp;
