//! Tensors as the inference core sees them, whatever the transport: the inputs a request
//! carries (FP32 numbers or BYTES elements), and the FP32 output it gets back.

/// The elements of one input tensor, flattened in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    Fp32(Vec<f32>),
    Bytes(Vec<Vec<u8>>),
}

impl TensorData {
    pub fn len(&self) -> usize {
        match self {
            TensorData::Fp32(v) => v.len(),
            TensorData::Bytes(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One input tensor of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct InputTensor {
    pub name: String,
    pub datatype: String,
    pub shape: Vec<i64>,
    pub data: TensorData,
}

/// One FP32 output tensor: `shape` and its row-major elements.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputTensor {
    pub name: String,
    pub shape: Vec<i64>,
    pub data: Vec<f32>,
}

/// The datatypes this server accepts for inputs.
pub const FP32: &str = "FP32";
pub const BYTES: &str = "BYTES";

/// Product of the dimensions, or `None` for a negative dimension or an overflow.
pub fn element_count(shape: &[i64]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| {
        let d = usize::try_from(d).ok()?;
        acc.checked_mul(d)
    })
}

/// Little-endian FP32 elements of the binary tensor format.
pub fn fp32_from_le(bytes: &[u8]) -> Option<Vec<f32>> {
    if bytes.len() % 4 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// FP32 elements as little-endian bytes.
pub fn fp32_to_le(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// BYTES elements of the binary tensor format: each a 4-byte little-endian length and
/// then that many bytes.
pub fn bytes_from_binary(mut raw: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut items = Vec::new();
    while !raw.is_empty() {
        let (len, rest) = raw.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return None;
        }
        items.push(rest[..len].to_vec());
        raw = &rest[len..];
    }
    Some(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_bytes_round_trip_and_truncation() {
        let mut raw = Vec::new();
        for s in ["ab", "", "héllo"] {
            raw.extend_from_slice(&(s.len() as u32).to_le_bytes());
            raw.extend_from_slice(s.as_bytes());
        }
        let items = bytes_from_binary(&raw).unwrap();
        assert_eq!(
            items,
            vec![b"ab".to_vec(), vec![], "héllo".as_bytes().to_vec()]
        );
        assert_eq!(bytes_from_binary(&raw[..raw.len() - 1]), None);
        assert_eq!(bytes_from_binary(&[1, 0]), None);
    }

    #[test]
    fn fp32_round_trip_and_bad_length() {
        let values = [1.5f32, -0.25, 3.0e-8];
        assert_eq!(fp32_from_le(&fp32_to_le(&values)).unwrap(), values);
        assert_eq!(fp32_from_le(&[0, 0, 0]), None);
    }

    #[test]
    fn element_counts() {
        assert_eq!(element_count(&[2, 3]), Some(6));
        assert_eq!(element_count(&[]), Some(1));
        assert_eq!(element_count(&[-1, 3]), None);
        assert_eq!(element_count(&[i64::MAX, i64::MAX]), None);
    }
}
