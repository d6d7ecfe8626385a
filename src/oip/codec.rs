//! The REST wire format of `/v2/models/{m}/infer`: the JSON request and response, and
//! Triton's binary tensor data extension (`Inference-Header-Content-Length`: a JSON header
//! followed by each binary tensor in order, sizes in `binary_data_size`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::OipError;
use super::tensor::{
    bytes_from_binary, fp32_from_le, fp32_to_le, InputTensor, OutputTensor, TensorData, BYTES, FP32,
};

/// The header that gives the length of the JSON part of a binary request or response.
pub const HEADER_LENGTH: &str = "Inference-Header-Content-Length";

/// `$inference_request`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct InferRequest {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub parameters: Map<String, Value>,
    pub inputs: Vec<RequestInput>,
    #[serde(default)]
    pub outputs: Vec<RequestOutput>,
}

/// `$request_input`: data inline as JSON, or binary after the header.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RequestInput {
    pub name: String,
    pub shape: Vec<i64>,
    pub datatype: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub parameters: Map<String, Value>,
    /// The tensor's elements, flat or nested by shape; absent when sent as binary.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Value>>)]
    pub data: Option<Value>,
}

/// `$request_output`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RequestOutput {
    pub name: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub parameters: Map<String, Value>,
}

/// `$inference_response`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InferResponse {
    pub model_name: String,
    pub model_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub outputs: Vec<ResponseOutput>,
}

/// `$response_output`: FP32 data inline, or its binary size when sent as binary.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResponseOutput {
    pub name: String,
    #[schema(value_type = String)]
    pub datatype: &'static str,
    pub shape: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<BinaryParams>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<f32>>,
}

/// The size of an output sent as binary after the JSON header.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BinaryParams {
    pub binary_data_size: usize,
}

/// A decoded request: its header and the inputs with their data.
pub struct Decoded {
    pub request: InferRequest,
    pub inputs: Vec<InputTensor>,
}

/// Splits `body` at `header_length` (when given), parses the JSON header and takes each
/// input's data from JSON or from the binary part.
pub fn decode(body: &[u8], header_length: Option<usize>) -> Result<Decoded, OipError> {
    let (json, mut binary) = match header_length {
        Some(n) if n > body.len() => {
            return Err(OipError::bad_request(format!(
                "{HEADER_LENGTH} is {n} but the body has only {} bytes",
                body.len()
            )))
        }
        Some(n) => body.split_at(n),
        None => (body, &[][..]),
    };
    let mut request: InferRequest = serde_json::from_slice(json)
        .map_err(|e| OipError::bad_request(format!("the inference request is not valid: {e}")))?;
    let mut inputs = Vec::with_capacity(request.inputs.len());
    for input in &mut request.inputs {
        let data = match binary_size(&input.parameters, "input", &input.name)? {
            Some(size) => {
                if size > binary.len() {
                    return Err(OipError::bad_request(format!(
                        "input '{}' declares {size} bytes of binary data but only {} remain",
                        input.name,
                        binary.len()
                    )));
                }
                let (mine, rest) = binary.split_at(size);
                binary = rest;
                from_binary(&input.datatype, &input.name, mine)?
            }
            None => {
                let value = input.data.take().ok_or_else(|| {
                    OipError::bad_request(format!("input '{}' has no data", input.name))
                })?;
                from_json(&input.datatype, &input.name, value)?
            }
        };
        inputs.push(InputTensor {
            name: input.name.clone(),
            datatype: input.datatype.clone(),
            shape: input.shape.clone(),
            data,
        });
    }
    if !binary.is_empty() {
        return Err(OipError::bad_request(format!(
            "{} bytes of binary data follow the header that no input claims",
            binary.len()
        )));
    }
    Ok(Decoded { request, inputs })
}

fn binary_size(
    parameters: &Map<String, Value>,
    kind: &str,
    name: &str,
) -> Result<Option<usize>, OipError> {
    match parameters.get("binary_data_size") {
        None => Ok(None),
        Some(v) => v.as_u64().map(|n| Some(n as usize)).ok_or_else(|| {
            OipError::bad_request(format!(
                "{kind} '{name}': binary_data_size must be a non-negative integer"
            ))
        }),
    }
}

fn unsupported(datatype: &str, name: &str) -> OipError {
    OipError::bad_request(format!(
        "input '{name}' has datatype {datatype}; this server takes {FP32} (numbers) or {BYTES} (texts)"
    ))
}

pub(crate) fn from_binary(datatype: &str, name: &str, raw: &[u8]) -> Result<TensorData, OipError> {
    let malformed =
        || OipError::bad_request(format!("input '{name}': malformed binary {datatype} data"));
    match datatype {
        FP32 => fp32_from_le(raw)
            .map(TensorData::Fp32)
            .ok_or_else(malformed),
        BYTES => bytes_from_binary(raw)
            .map(TensorData::Bytes)
            .ok_or_else(malformed),
        other => Err(unsupported(other, name)),
    }
}

/// JSON tensor data: flat or nested arrays, row-major.
fn from_json(datatype: &str, name: &str, value: Value) -> Result<TensorData, OipError> {
    let mut flat = Vec::new();
    flatten(value, &mut flat);
    match datatype {
        FP32 => flat
            .into_iter()
            .map(|v| match v.as_f64() {
                Some(n) if (n as f32).is_finite() => Ok(n as f32),
                _ => Err(OipError::bad_request(format!(
                    "input '{name}': FP32 data must be finite numbers, got {v}"
                ))),
            })
            .collect::<Result<_, _>>()
            .map(TensorData::Fp32),
        BYTES => flat
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.into_bytes()),
                other => Err(OipError::bad_request(format!(
                    "input '{name}': BYTES data must be strings, got {other}"
                ))),
            })
            .collect::<Result<_, _>>()
            .map(TensorData::Bytes),
        other => Err(unsupported(other, name)),
    }
}

fn flatten(value: Value, out: &mut Vec<Value>) {
    match value {
        Value::Array(items) => items.into_iter().for_each(|v| flatten(v, out)),
        other => out.push(other),
    }
}

/// Whether the output should be sent as binary: its own `binary_data`, else the
/// request's `binary_data_output`.
pub fn wants_binary(request: &InferRequest, output: &str) -> bool {
    let own = request
        .outputs
        .iter()
        .find(|o| o.name == output)
        .and_then(|o| o.parameters.get("binary_data"))
        .and_then(Value::as_bool);
    own.or_else(|| {
        request
            .parameters
            .get("binary_data_output")
            .and_then(Value::as_bool)
    })
    .unwrap_or(false)
}

/// An encoded response: the body and, when it carries binary data, the JSON length.
pub struct Encoded {
    pub body: Vec<u8>,
    pub header_length: Option<usize>,
}

/// The response for `outputs`; those in `binary` go after the JSON header.
pub fn encode(
    model_name: String,
    id: Option<String>,
    outputs: Vec<(OutputTensor, bool)>,
) -> Result<Encoded, OipError> {
    let mut tail = Vec::new();
    let outputs = outputs
        .into_iter()
        .map(|(tensor, binary)| {
            let (parameters, data) = if binary {
                let bytes = fp32_to_le(&tensor.data);
                let size = bytes.len();
                tail.extend_from_slice(&bytes);
                (
                    Some(BinaryParams {
                        binary_data_size: size,
                    }),
                    None,
                )
            } else {
                (None, Some(tensor.data))
            };
            ResponseOutput {
                name: tensor.name,
                datatype: FP32,
                shape: tensor.shape,
                parameters,
                data,
            }
        })
        .collect();
    let response = InferResponse {
        model_name,
        model_version: super::VERSION.to_owned(),
        id,
        outputs,
    };
    let mut body = serde_json::to_vec(&response)
        .map_err(|e| OipError::internal(format!("cannot write the response: {e}")))?;
    if tail.is_empty() {
        return Ok(Encoded {
            body,
            header_length: None,
        });
    }
    let header_length = Some(body.len());
    body.extend_from_slice(&tail);
    Ok(Encoded {
        body,
        header_length,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_request_with_nested_data() {
        let body =
            br#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4.5]]}]}"#;
        let decoded = decode(body, None).unwrap();
        assert_eq!(
            decoded.inputs[0].data,
            TensorData::Fp32(vec![1.0, 2.0, 3.0, 4.5])
        );
    }

    #[test]
    fn binary_request_splits_at_the_header() {
        let header = br#"{"inputs":[{"name":"t","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":6}}]}"#;
        let mut body = header.to_vec();
        body.extend_from_slice(&2u32.to_le_bytes());
        body.extend_from_slice(b"hi");
        let decoded = decode(&body, Some(header.len())).unwrap();
        assert_eq!(
            decoded.inputs[0].data,
            TensorData::Bytes(vec![b"hi".to_vec()])
        );
        // One byte too many, or too few.
        body.push(0);
        assert!(decode(&body, Some(header.len())).is_err());
        assert!(decode(&body[..header.len() + 3], Some(header.len())).is_err());
    }

    #[test]
    fn unsupported_datatype_and_bad_json_are_400() {
        let body = br#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[1]}]}"#;
        let err = decode(body, None).err().unwrap();
        assert_eq!(err.status(), 400);
        assert!(err.message.contains("INT64"), "{}", err.message);
        assert_eq!(decode(b"{", None).err().unwrap().status(), 400);
    }

    #[test]
    fn binary_output_goes_after_the_header() {
        let tensor = OutputTensor {
            name: "y".into(),
            shape: vec![1, 2],
            data: vec![0.5, -1.0],
        };
        let encoded = encode("m".into(), None, vec![(tensor, true)]).unwrap();
        let n = encoded.header_length.unwrap();
        let header: Value = serde_json::from_slice(&encoded.body[..n]).unwrap();
        assert_eq!(header["outputs"][0]["parameters"]["binary_data_size"], 8);
        assert_eq!(fp32_from_le(&encoded.body[n..]).unwrap(), vec![0.5, -1.0]);
    }
}
