//! Amounts: smidge (the unit on the wire) or SMH (10^9 smidge), as people type them.

use anyhow::{Result, bail};

/// Smidge in one SMH.
pub(crate) const SMIDGE_PER_SMH: u64 = 1_000_000_000;

/// Reads `123` or `123smidge` (smidge) or `1.5smh` / `1.5 SMH` (up to 9 decimals).
pub(crate) fn parse_amount(text: &str) -> Result<u64> {
    let t = text.trim().to_ascii_lowercase();
    let bad = || anyhow::anyhow!("amount {text:?}: write smidge (`1500`) or SMH (`1.5smh`)");
    if let Some(smh) = t.strip_suffix("smh") {
        let smh = smh.trim();
        let (whole, frac) = smh.split_once('.').unwrap_or((smh, ""));
        if whole.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        if frac.len() > 9 {
            bail!("amount {text:?}: SMH has at most 9 decimals (1 smidge = 0.000000001 SMH)");
        }
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if !digits(whole) || !digits(frac) {
            return Err(bad());
        }
        let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
        let frac: u64 = format!("{frac:0<9}").parse().map_err(|_| bad())?;
        return whole
            .checked_mul(SMIDGE_PER_SMH)
            .and_then(|w| w.checked_add(frac))
            .ok_or_else(|| anyhow::anyhow!("amount {text:?} is more than a u64 of smidge"));
    }
    let smidge = t.strip_suffix("smidge").unwrap_or(&t).trim();
    if smidge.is_empty() || !smidge.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    smidge.parse().map_err(|_| anyhow::anyhow!("amount {text:?} is more than a u64 of smidge"))
}

/// `1.5 SMH (1500000000 smidge)`-style text.
pub(crate) fn format_amount(smidge: u64) -> String {
    let whole = smidge / SMIDGE_PER_SMH;
    let frac = smidge % SMIDGE_PER_SMH;
    let smh = if frac == 0 {
        format!("{whole}")
    } else {
        format!("{whole}.{}", format!("{frac:09}").trim_end_matches('0'))
    };
    format!("{smh} SMH ({smidge} smidge)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Smidge and SMH forms read to the same numbers; malformed, over-precise and overflowing
    /// amounts are refused.
    #[test]
    fn parses_and_formats() {
        assert_eq!(parse_amount("1500").unwrap(), 1500);
        assert_eq!(parse_amount("1500smidge").unwrap(), 1500);
        assert_eq!(parse_amount("1.5smh").unwrap(), 1_500_000_000);
        assert_eq!(parse_amount("2 SMH").unwrap(), 2_000_000_000);
        assert_eq!(parse_amount(".000000001smh").unwrap(), 1);
        assert!(parse_amount("0.0000000001smh").unwrap_err().to_string().contains("9 decimals"));
        for bad in ["", "smh", "1.2", "-5", "1e3", "1.5btc", "1..2smh"] {
            assert!(parse_amount(bad).is_err(), "{bad:?}");
        }
        assert!(parse_amount("18446744073709551616").is_err());
        assert!(parse_amount("18446744074smh").is_err());
        assert_eq!(format_amount(1_500_000_000), "1.5 SMH (1500000000 smidge)");
        assert_eq!(format_amount(7), "0.000000007 SMH (7 smidge)");
        assert_eq!(format_amount(3_000_000_000), "3 SMH (3000000000 smidge)");
    }
}
