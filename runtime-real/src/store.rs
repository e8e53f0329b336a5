//! The node store on disk (fjall): one atomic, durable batch per `Persist`, checked on load.
