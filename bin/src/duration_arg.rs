//! Durations on the command line: `24h`, `30m`, `90s`, `2d`, or plain seconds (the faucet's
//! cooldown, `sim explore --for`).

use anyhow::{Result, bail};

/// Seconds of `24h`, `30m`, `90s`, `2d` (or plain seconds).
pub(crate) fn parse_duration(text: &str) -> Result<u64> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 =
        digits.parse().map_err(|_| anyhow::anyhow!("{text:?}: write `24h`, `30m`, `90s`"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => bail!("{text:?}: the units are s, m, h and d"),
    };
    n.checked_mul(scale).ok_or_else(|| anyhow::anyhow!("{text:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Durations read in their units; anything else is refused.
    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h").unwrap(), 86_400);
        assert_eq!(parse_duration("30m").unwrap(), 1_800);
        assert_eq!(parse_duration("90").unwrap(), 90);
        assert_eq!(parse_duration("2d").unwrap(), 172_800);
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
    }
}
