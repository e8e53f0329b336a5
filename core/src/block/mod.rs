//! Blocks built from hare outputs (being written).
