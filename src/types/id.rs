//! The message GUID.

use serde::Serialize;
use std::fmt;

/// The 16-byte message GUID. `Display` gives 32 uppercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct MessageId(pub [u8; 16]);

impl MessageId {
    /// 32 uppercase hex digits, two per byte (the original plugin's encoding).
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = [0u8; 32];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = DIGITS[(b >> 4) as usize];
            out[2 * i + 1] = DIGITS[(b & 0xF) as usize];
        }
        String::from_utf8(out.to_vec()).expect("hex digits are ASCII")
    }

    /// The microsecond timestamp in the GUID's first 8 bytes.
    pub fn timestamp_us(&self) -> u64 {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(ts)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_hex() {
        let id = MessageId([0, 6, 97, 32, 185, 206, 123, 192, 244, 31, 0, 0, 1, 85, 0, 0]);
        assert_eq!(id.to_hex(), "00066120B9CE7BC0F41F000001550000");
        assert_eq!(id.timestamp_us(), 0x0006_6120_B9CE_7BC0);
        assert_eq!(MessageId([0xAB; 16]).to_string(), "AB".repeat(16));
    }
}
