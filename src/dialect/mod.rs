//! Dialects: the protocols spoken over a transport. Raw messages need no
//! state and live in the session; STOMP and Socket.IO are client state
//! machines here.

pub mod socketio;
pub mod stomp;
