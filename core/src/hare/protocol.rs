//! The hare3 protocol state machine (being written).
