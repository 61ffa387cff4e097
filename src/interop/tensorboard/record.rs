//! `TensorBoard`'s record framing (TFRecord): each record is its length as a
//! little-endian u64, the masked CRC32C of those 8 bytes, the data, and the
//! masked CRC32C of the data.

/// `TFRecord`'s CRC mask: rotate right by 15 bits, add a constant, so that a
/// CRC of data that itself holds CRCs is not trivially zero.
pub fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Appends one framed record holding `data` to `out`.
pub fn append(out: &mut Vec<u8>, data: &[u8]) {
    let length = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&length);
    out.extend_from_slice(&masked_crc(&length).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_is_the_castagnoli_polynomial() {
        // The check value of CRC-32C (RFC 3720, appendix B.4).
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn a_record_is_length_masked_crc_data_masked_crc() {
        let mut out = Vec::new();
        append(&mut out, b"abc");
        assert_eq!(out.len(), 8 + 4 + 3 + 4);
        assert_eq!(&out[..8], &3u64.to_le_bytes());
        let crc = u32::from_le_bytes(out[8..12].try_into().unwrap());
        let unmasked = crc.wrapping_sub(0xa282_ead8).rotate_left(15);
        assert_eq!(unmasked, crc32c::crc32c(&3u64.to_le_bytes()));
        assert_eq!(&out[12..15], b"abc");
        let data_crc = u32::from_le_bytes(out[15..].try_into().unwrap());
        assert_eq!(data_crc, masked_crc(b"abc"));
    }
}
