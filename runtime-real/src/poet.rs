//! The PoET service over HTTP and the client a node reaches it with.
