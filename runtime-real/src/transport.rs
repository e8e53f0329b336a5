//! The authenticated, encrypted TCP transport between nodes.
