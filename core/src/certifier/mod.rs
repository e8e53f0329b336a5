//! The certifier (being written).
