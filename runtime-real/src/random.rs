//! Where the real runtime's fresh secrets come from: the OS, or, in a `--cfg madsim` build, the
//! simulator's seeded generator, so that a simulated cluster draws the same keys and node seeds
//! for the same seed (the OS source cannot be intercepted by madsim on Linux).

/// Fills `buf` with random bytes.
#[cfg(not(madsim))]
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    getrandom::fill(buf)
}

/// Fills `buf` with random bytes from the simulator's generator (seeded by the run's seed).
#[cfg(madsim)]
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    use madsim::rand::RngCore as _;
    madsim::rand::thread_rng().fill_bytes(buf);
    Ok(())
}
