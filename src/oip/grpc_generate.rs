//! The generate extension's mapping over gRPC, both ways: a request's input tensors become
//! the JSON object a `generate` task takes (each input a field, its one element as a
//! scalar, more as an array; the request's own parameters as `parameters`), the reverse
//! of how Triton's generate endpoint turns JSON fields into tensors; and a chunk's (or
//! result's) JSON fields become output tensors: strings BYTES, integers INT64 (UINT64
//! past it), other numbers FP64, booleans BOOL, arrays of one of these a `[n]` tensor,
//! anything else a BYTES `[1]` tensor holding its JSON text.
//!
//! Pure conversions of the generated prost types; no dispatcher, no runtime.

use serde_json::{Map, Number, Value};

use super::error::OipError;
use super::grpc::pb;
use super::tensor::{bytes_from_binary, element_count, BYTES};
use pb::infer_parameter::ParameterChoice;
use pb::model_infer_request::InferInputTensor;
use pb::model_infer_response::InferOutputTensor;

/// Request parameters Triton's clients set for the server itself (e.g.
/// `triton_enable_empty_final_response`); not passed on to the task.
pub const TRITON_PREFIX: &str = "triton_";

/// The `generate` task's parameters for `request`: a JSON object of its inputs (and its
/// parameters, as `parameters`).
pub fn task_parameters(request: &mut pb::ModelInferRequest) -> Result<String, OipError> {
    let mut raw = super::grpc::raw_contents(request)?;
    let mut object = Map::new();
    for input in &mut request.inputs {
        let elements = match raw.next() {
            Some(bytes) => from_raw(input, &bytes)?,
            None => from_contents(input)?,
        };
        let count = element_count(&input.shape).ok_or_else(|| {
            OipError::bad_request(format!(
                "input '{}' has shape {:?}",
                input.name, input.shape
            ))
        })?;
        if count != elements.len() {
            return Err(OipError::bad_request(format!(
                "input '{}' has shape {:?} ({count} elements) but {} elements of data",
                input.name,
                input.shape,
                elements.len()
            )));
        }
        object.insert(input.name.clone(), shaped(elements, &input.shape));
    }
    let parameters: Map<String, Value> = request
        .parameters
        .iter()
        .filter(|(key, _)| !key.starts_with(TRITON_PREFIX))
        .filter_map(|(key, p)| Some((key.clone(), parameter_value(p)?)))
        .collect();
    if !parameters.is_empty() {
        object.insert("parameters".to_owned(), Value::Object(parameters));
    }
    Ok(Value::Object(object).to_string())
}

fn parameter_value(parameter: &pb::InferParameter) -> Option<Value> {
    Some(match parameter.parameter_choice.as_ref()? {
        ParameterChoice::BoolParam(b) => Value::Bool(*b),
        ParameterChoice::Int64Param(n) => Value::from(*n),
        ParameterChoice::Uint64Param(n) => Value::from(*n),
        ParameterChoice::DoubleParam(x) => Number::from_f64(*x).map_or(Value::Null, Value::Number),
        ParameterChoice::StringParam(s) => Value::String(s.clone()),
    })
}

/// One element a scalar; more, an array nested by the shape's dimensions.
fn shaped(mut elements: Vec<Value>, shape: &[i64]) -> Value {
    if elements.len() == 1 {
        return elements.remove(0);
    }
    let mut value = elements;
    // Group from the innermost dimension out; the outermost stays the array itself.
    for &dim in shape.iter().skip(1).rev() {
        let dim = (dim.max(1)) as usize;
        let mut rows = Vec::with_capacity(value.len() / dim);
        let mut items = value.into_iter().peekable();
        while items.peek().is_some() {
            rows.push(Value::Array(items.by_ref().take(dim).collect()));
        }
        value = rows;
    }
    Value::Array(value)
}

fn not_text(name: &str) -> OipError {
    OipError::bad_request(format!("input '{name}': a BYTES element is not UTF-8 text"))
}

fn text(name: &str, bytes: Vec<u8>) -> Result<Value, OipError> {
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| not_text(name))
}

fn float(x: f64) -> Value {
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// The elements of a raw (little-endian binary) input.
fn from_raw(input: &InferInputTensor, raw: &[u8]) -> Result<Vec<Value>, OipError> {
    let name = &input.name;
    let malformed = || {
        OipError::bad_request(format!(
            "input '{name}': malformed binary {} data",
            input.datatype
        ))
    };
    fn fixed<const N: usize>(
        raw: &[u8],
        malformed: impl Fn() -> OipError,
        f: impl Fn([u8; N]) -> Value,
    ) -> Result<Vec<Value>, OipError> {
        if raw.len() % N != 0 {
            return Err(malformed());
        }
        Ok(raw
            .chunks_exact(N)
            .map(|c| {
                let mut bytes = [0; N];
                bytes.copy_from_slice(c);
                f(bytes)
            })
            .collect())
    }
    match input.datatype.as_str() {
        BYTES => bytes_from_binary(raw)
            .ok_or_else(malformed)?
            .into_iter()
            .map(|b| text(name, b))
            .collect(),
        "BOOL" => fixed::<1>(raw, malformed, |[b]| Value::Bool(b != 0)),
        "INT8" => fixed::<1>(raw, malformed, |b| i8::from_le_bytes(b).into()),
        "INT16" => fixed::<2>(raw, malformed, |b| i16::from_le_bytes(b).into()),
        "INT32" => fixed::<4>(raw, malformed, |b| i32::from_le_bytes(b).into()),
        "INT64" => fixed::<8>(raw, malformed, |b| i64::from_le_bytes(b).into()),
        "UINT8" => fixed::<1>(raw, malformed, |b| u8::from_le_bytes(b).into()),
        "UINT16" => fixed::<2>(raw, malformed, |b| u16::from_le_bytes(b).into()),
        "UINT32" => fixed::<4>(raw, malformed, |b| u32::from_le_bytes(b).into()),
        "UINT64" => fixed::<8>(raw, malformed, |b| u64::from_le_bytes(b).into()),
        "FP32" => fixed::<4>(raw, malformed, |b| float(f32::from_le_bytes(b).into())),
        "FP64" => fixed::<8>(raw, malformed, |b| float(f64::from_le_bytes(b))),
        other => Err(unsupported(name, other)),
    }
}

/// The elements of a typed (`contents`) input.
fn from_contents(input: &mut InferInputTensor) -> Result<Vec<Value>, OipError> {
    let c = input.contents.take().unwrap_or_default();
    let values = |v: Vec<Value>| Ok(v);
    match input.datatype.as_str() {
        BYTES => c
            .bytes_contents
            .into_iter()
            .map(|b| text(&input.name, b))
            .collect(),
        "BOOL" => values(c.bool_contents.into_iter().map(Value::Bool).collect()),
        "INT8" | "INT16" | "INT32" => values(c.int_contents.into_iter().map(Value::from).collect()),
        "INT64" => values(c.int64_contents.into_iter().map(Value::from).collect()),
        "UINT8" | "UINT16" | "UINT32" => {
            values(c.uint_contents.into_iter().map(Value::from).collect())
        }
        "UINT64" => values(c.uint64_contents.into_iter().map(Value::from).collect()),
        "FP32" => values(
            c.fp32_contents
                .into_iter()
                .map(|x| float(x.into()))
                .collect(),
        ),
        "FP64" => values(c.fp64_contents.into_iter().map(float).collect()),
        other => Err(unsupported(&input.name, other)),
    }
}

fn unsupported(name: &str, datatype: &str) -> OipError {
    OipError::bad_request(format!(
        "input '{name}' has datatype {datatype}; a generate model takes BYTES, BOOL, \
         INT8..INT64, UINT8..UINT64, FP32 or FP64"
    ))
}

/// Output tensors for a chunk's or result's JSON, with their raw contents in the same
/// order. A value that is not an object is the one field `output`.
pub fn outputs_of(value: Value) -> (Vec<InferOutputTensor>, Vec<Vec<u8>>) {
    let object = match value {
        Value::Object(object) => object,
        other => Map::from_iter([("output".to_owned(), other)]),
    };
    object
        .into_iter()
        .map(|(name, value)| {
            let (datatype, shape, raw) = tensor_of(value);
            let tensor = InferOutputTensor {
                name,
                datatype: datatype.to_owned(),
                shape,
                parameters: Default::default(),
                contents: None,
            };
            (tensor, raw)
        })
        .unzip()
}

/// A JSON value as (datatype, shape, raw little-endian contents).
fn tensor_of(value: Value) -> (&'static str, Vec<i64>, Vec<u8>) {
    let (items, scalar) = match value {
        Value::Array(items) => (items, false),
        other => (vec![other], true),
    };
    match array_of(&items) {
        Some((datatype, n, raw)) => {
            let shape = if scalar { vec![1] } else { vec![n as i64] };
            (datatype, shape, raw)
        }
        None => {
            let value = if scalar {
                items.into_iter().next().unwrap_or(Value::Null)
            } else {
                Value::Array(items)
            };
            (BYTES, vec![1], json_text(&value))
        }
    }
}

/// A flat array of strings, booleans or numbers as one tensor; `None` for anything else.
fn array_of(items: &[Value]) -> Option<(&'static str, usize, Vec<u8>)> {
    let n = items.len();
    if items.iter().all(Value::is_string) {
        let mut raw = Vec::new();
        for s in items.iter().filter_map(Value::as_str) {
            raw.extend_from_slice(&(s.len() as u32).to_le_bytes());
            raw.extend_from_slice(s.as_bytes());
        }
        return Some((BYTES, n, raw));
    }
    if items.iter().all(Value::is_boolean) {
        let raw = items
            .iter()
            .filter_map(Value::as_bool)
            .map(u8::from)
            .collect();
        return Some(("BOOL", n, raw));
    }
    if items.iter().all(Value::is_i64) {
        let raw = items
            .iter()
            .filter_map(Value::as_i64)
            .flat_map(i64::to_le_bytes)
            .collect();
        return Some(("INT64", n, raw));
    }
    if items.iter().all(Value::is_u64) {
        let raw = items
            .iter()
            .filter_map(Value::as_u64)
            .flat_map(u64::to_le_bytes)
            .collect();
        return Some(("UINT64", n, raw));
    }
    if items.iter().all(Value::is_number) {
        let raw = items
            .iter()
            .filter_map(Value::as_f64)
            .flat_map(f64::to_le_bytes)
            .collect();
        return Some(("FP64", n, raw));
    }
    None
}

/// One BYTES element holding `value`'s JSON text.
fn json_text(value: &Value) -> Vec<u8> {
    let text = value.to_string();
    let mut raw = (text.len() as u32).to_le_bytes().to_vec();
    raw.extend_from_slice(text.as_bytes());
    raw
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(name: &str, datatype: &str, shape: &[i64]) -> InferInputTensor {
        InferInputTensor {
            name: name.into(),
            datatype: datatype.into(),
            shape: shape.to_vec(),
            parameters: Default::default(),
            contents: None,
        }
    }

    fn bytes_raw(items: &[&str]) -> Vec<u8> {
        let mut raw = Vec::new();
        for s in items {
            raw.extend_from_slice(&(s.len() as u32).to_le_bytes());
            raw.extend_from_slice(s.as_bytes());
        }
        raw
    }

    #[test]
    fn raw_inputs_become_fields_scalars_and_arrays() {
        let mut request = pb::ModelInferRequest {
            inputs: vec![
                input("text_input", BYTES, &[1]),
                input("max_tokens", "INT32", &[1, 1]),
                input("ids", "INT64", &[2, 2]),
                input("stream", "BOOL", &[1]),
            ],
            raw_input_contents: vec![
                bytes_raw(&["héllo"]),
                7i32.to_le_bytes().to_vec(),
                [1i64, 2, 3, 4]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                vec![1],
            ],
            ..Default::default()
        };
        request.parameters.insert(
            "temperature".into(),
            pb::InferParameter {
                parameter_choice: Some(ParameterChoice::DoubleParam(0.5)),
            },
        );
        request.parameters.insert(
            "triton_enable_empty_final_response".into(),
            pb::InferParameter {
                parameter_choice: Some(ParameterChoice::BoolParam(true)),
            },
        );
        let params: Value = serde_json::from_str(&task_parameters(&mut request).unwrap()).unwrap();
        assert_eq!(
            params,
            json!({
                "text_input": "héllo", "max_tokens": 7, "ids": [[1, 2], [3, 4]], "stream": true,
                "parameters": {"temperature": 0.5}
            })
        );
    }

    #[test]
    fn typed_contents_and_their_errors() {
        let mut tensor = input("t", BYTES, &[2]);
        tensor.contents = Some(pb::InferTensorContents {
            bytes_contents: vec![b"a".to_vec(), b"b".to_vec()],
            ..Default::default()
        });
        let mut request = pb::ModelInferRequest {
            inputs: vec![tensor],
            ..Default::default()
        };
        assert_eq!(
            task_parameters(&mut request.clone()).unwrap(),
            r#"{"t":["a","b"]}"#
        );
        request.inputs[0].shape = vec![3];
        let err = task_parameters(&mut request.clone()).unwrap_err();
        assert!(err.message.contains("3 elements"), "{}", err.message);
        request.inputs[0].datatype = "FP16".into();
        let err = task_parameters(&mut request).unwrap_err();
        assert!(err.message.contains("FP16"), "{}", err.message);
        let mut bad = pb::ModelInferRequest {
            inputs: vec![input("t", BYTES, &[1])],
            raw_input_contents: vec![bytes_raw(&["x"])[..3].to_vec()],
            ..Default::default()
        };
        assert_eq!(task_parameters(&mut bad).unwrap_err().status(), 400);
    }

    #[test]
    fn json_fields_become_typed_outputs() {
        let (outputs, raw) = outputs_of(json!({
            "b": true, "f": 0.25, "i": -3, "n": [1, 2], "o": {"k": 1}, "s": "tok", "x": [1, 0.5]
        }));
        let got: Vec<(&str, &str, Vec<i64>)> = outputs
            .iter()
            .map(|o| (o.name.as_str(), o.datatype.as_str(), o.shape.clone()))
            .collect();
        assert_eq!(
            got,
            [
                ("b", "BOOL", vec![1]),
                ("f", "FP64", vec![1]),
                ("i", "INT64", vec![1]),
                ("n", "INT64", vec![2]),
                ("o", BYTES, vec![1]),
                ("s", BYTES, vec![1]),
                ("x", "FP64", vec![2]),
            ]
        );
        assert_eq!(raw[0], [1]);
        assert_eq!(raw[1], 0.25f64.to_le_bytes());
        assert_eq!(raw[2], (-3i64).to_le_bytes());
        assert_eq!(raw[4], bytes_raw(&[r#"{"k":1}"#]));
        assert_eq!(raw[5], bytes_raw(&["tok"]));
        let (outputs, raw) = outputs_of(json!("plain"));
        assert_eq!(
            (outputs[0].name.as_str(), &raw[0]),
            ("output", &bytes_raw(&["plain"]))
        );
        assert_eq!(outputs_of(json!({})).0.len(), 0);
    }
}
