//! The binary's allocator: mimalloc, told to keep freed memory for simulations and benchmarks.
//!
//! The only unsafe code of the workspace: two calls into the mimalloc C library that the Rust
//! bindings do not wrap (see ARCHITECTURE.md).

use std::ffi::c_int;

/// mimalloc instead of the system allocator: a large simulation allocates and frees a small
/// buffer per message per node, and glibc's allocator spent a tenth of such a run in malloc,
/// free and zeroing pages it had given back (see ARCHITECTURE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`: its position in `mi_option_e` of mimalloc v3's `mimalloc.h` (the
/// bindings name no constant for it). Milliseconds before freed memory goes back to the OS;
/// -1 for never. The test below checks the position against the option's default.
const MI_OPTION_PURGE_DELAY: c_int = 15;

/// mimalloc's default purge delay, in milliseconds.
#[cfg(test)]
const PURGE_DELAY_DEFAULT: std::ffi::c_long = 1000;

#[allow(unsafe_code)]
mod ffi {
    use std::ffi::{c_int, c_long};

    unsafe extern "C" {
        pub(super) safe fn mi_option_set(option: c_int, value: c_long);
        #[cfg(test)]
        pub(super) safe fn mi_option_get(option: c_int) -> c_long;
    }
}

/// Keeps memory that the process frees for its own later allocations instead of handing it
/// back to the OS after a second. A simulation's per-node tables grow by reallocation all run
/// long; handed back, each freed block is faulted in again page by page when reused (tens of
/// microseconds a page in a virtual machine) and its huge pages are split. A 1,000-node
/// `mainnet-like` run took 16% less CPU this way, for 7% more peak memory. Call it before any
/// thread is started (mimalloc's options are not thread safe); a node keeps the default.
pub(crate) fn keep_freed_memory() {
    ffi::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_where_the_constant_says() {
        // An environment override would hide the default this check relies on.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(ffi::mi_option_get(MI_OPTION_PURGE_DELAY), PURGE_DELAY_DEFAULT);
        }
        keep_freed_memory();
        assert_eq!(ffi::mi_option_get(MI_OPTION_PURGE_DELAY), -1);
    }
}
