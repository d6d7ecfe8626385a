//! One session call: tokenising texts and pooling embeddings, or feeding float rows, for a
//! batch already cut to size. Synchronous; must not depend on actix or tokio.

use std::borrow::Cow;
use std::path::Path;

use ort::session::SessionInputValue;
use ort::value::Tensor;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::config::Pooling;
use super::error::EngineError;
use super::model::LoadedModel;

/// The text-model inputs the engine knows how to feed, all i64 `[batch, sequence]`.
pub(crate) const TEXT_INPUTS: &[&str] = &["input_ids", "attention_mask", "token_type_ids"];

/// Loads `tokenizer.json` and makes it pad to the longest text of each batch and truncate
/// at `max_length`, whatever fixed padding or truncation the file ships with.
pub(crate) fn load_tokenizer(path: &Path, max_length: usize) -> Result<Tokenizer, String> {
    let mut tokenizer = Tokenizer::from_file(path).map_err(|e| e.to_string())?;
    let padding = match tokenizer.get_padding() {
        Some(p) => PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..p.clone()
        },
        None => PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_id: tokenizer.token_to_id("[PAD]").unwrap_or(0),
            pad_token: "[PAD]".to_string(),
            ..PaddingParams::default()
        },
    };
    tokenizer.with_padding(Some(padding));
    let truncation = TruncationParams {
        max_length,
        ..tokenizer.get_truncation().cloned().unwrap_or_default()
    };
    tokenizer
        .with_truncation(Some(truncation))
        .map_err(|e| format!("cannot truncate at max_length {max_length}: {e}"))?;
    Ok(tokenizer)
}

fn inference(e: impl std::fmt::Display) -> EngineError {
    EngineError::Inference(e.to_string())
}

impl LoadedModel {
    /// Embeds `texts` in one session call: one vector per text.
    pub(crate) fn embed_chunk(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EngineError> {
        let Some(tokenizer) = &self.tokenizer else {
            // LoadedModel::load refuses embed_texts without a tokenizer.
            return Err(inference("the model has no tokenizer"));
        };
        let encodings = tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(inference)?;
        let batch = encodings.len();
        let seq = encodings.first().map_or(0, |e| e.len());
        let mut ids = Vec::with_capacity(batch * seq);
        let mut mask = Vec::with_capacity(batch * seq);
        let mut types = Vec::with_capacity(batch * seq);
        for e in &encodings {
            if e.len() != seq {
                return Err(inference(
                    "the tokenizer did not pad the batch to one length",
                ));
            }
            ids.extend(e.get_ids().iter().map(|&v| i64::from(v)));
            mask.extend(e.get_attention_mask().iter().map(|&v| i64::from(v)));
            types.extend(e.get_type_ids().iter().map(|&v| i64::from(v)));
        }

        let mut feeds: Vec<(Cow<'static, str>, SessionInputValue<'static>)> = Vec::new();
        for input in &self.info.inputs {
            let data = match input.name.as_str() {
                "input_ids" => std::mem::take(&mut ids),
                "attention_mask" => mask.clone(), // still needed for pooling
                "token_type_ids" => std::mem::take(&mut types),
                // LoadedModel::load refuses models with other inputs for embed_texts.
                other => return Err(inference(format!("unexpected input `{other}`"))),
            };
            let tensor = Tensor::from_array(([batch, seq], data)).map_err(inference)?;
            feeds.push((Cow::Owned(input.name.clone()), tensor.into()));
        }
        let outputs = self.session.run(feeds).map_err(inference)?;
        let value = outputs
            .get(&self.info.output)
            .ok_or_else(|| inference(format!("no output `{}`", self.info.output)))?;
        let (shape, data) = value.try_extract_tensor::<f32>().map_err(inference)?;

        let mut pooled = match **shape {
            [b, s, h] if b as usize == batch && s as usize == seq => {
                let dims = (batch, seq, h as usize);
                match self.config.pooling {
                    Pooling::Mean => mean_pool(data, dims, &mask),
                    Pooling::Cls => cls_pool(data, dims),
                }
            }
            [b, h] if b as usize == batch => data.chunks(h.max(1) as usize).map(<[f32]>::to_vec).collect(),
            ref other => {
                return Err(inference(format!(
                    "output `{}` has shape {other:?}; expected [{batch}, {seq}, hidden] or [{batch}, hidden]",
                    self.info.output
                )))
            }
        };
        if self.config.normalize {
            pooled.iter_mut().for_each(|v| l2_normalize(v));
        }
        Ok(pooled)
    }

    /// Runs `rows` (all of one width) as one `[rows, width]` input: one output row each.
    pub(crate) fn infer_chunk(&mut self, rows: &[&[f32]]) -> Result<Vec<Vec<f32>>, EngineError> {
        let batch = rows.len();
        let width = rows.first().map_or(0, |r| r.len());
        let data: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        let tensor = Tensor::from_array(([batch, width], data)).map_err(inference)?;
        let input = Cow::Owned(self.info.inputs[0].name.clone());
        let outputs = self
            .session
            .run(vec![(input, SessionInputValue::from(tensor))])
            .map_err(inference)?;
        let value = outputs
            .get(&self.info.output)
            .ok_or_else(|| inference(format!("no output `{}`", self.info.output)))?;
        let (shape, data) = value.try_extract_tensor::<f32>().map_err(inference)?;
        if shape.first().copied() != Some(batch as i64) || data.len() % batch.max(1) != 0 {
            return Err(inference(format!(
                "output `{}` has shape {:?}; expected {batch} rows",
                self.info.output, &**shape
            )));
        }
        let per_row = data.len() / batch.max(1);
        Ok(data.chunks(per_row.max(1)).map(<[f32]>::to_vec).collect())
    }
}

/// Mean of each text's token vectors over the tokens its attention mask keeps.
fn mean_pool(
    hidden: &[f32],
    (batch, seq, dim): (usize, usize, usize),
    mask: &[i64],
) -> Vec<Vec<f32>> {
    (0..batch)
        .map(|b| {
            let mut sum = vec![0f32; dim];
            let mut count = 0f32;
            for s in 0..seq {
                if mask[b * seq + s] == 0 {
                    continue;
                }
                count += 1.0;
                let token = &hidden[(b * seq + s) * dim..(b * seq + s + 1) * dim];
                sum.iter_mut().zip(token).for_each(|(acc, v)| *acc += v);
            }
            let count = count.max(1e-9);
            sum.iter_mut().for_each(|v| *v /= count);
            sum
        })
        .collect()
}

/// Each text's first-token (`[CLS]`) vector.
fn cls_pool(hidden: &[f32], (batch, seq, dim): (usize, usize, usize)) -> Vec<Vec<f32>> {
    (0..batch)
        .map(|b| hidden[b * seq * dim..(b * seq + 1) * dim].to_vec())
        .collect()
}

fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_pool_ignores_masked_tokens() {
        // batch 2, seq 3, dim 2; the second text has one padding token.
        let hidden = [1., 2., 3., 4., 5., 6., 10., 20., 30., 40., 99., 99.];
        let pooled = mean_pool(&hidden, (2, 3, 2), &[1, 1, 1, 1, 1, 0]);
        assert_eq!(pooled, vec![vec![3., 4.], vec![20., 30.]]);
        assert_eq!(
            cls_pool(&hidden, (2, 3, 2)),
            vec![vec![1., 2.], vec![10., 20.]]
        );
    }

    #[test]
    fn l2_normalize_gives_unit_length_and_keeps_zero() {
        let mut v = [3f32, 4.];
        l2_normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut zero = [0f32; 3];
        l2_normalize(&mut zero);
        assert_eq!(zero, [0.; 3]);
    }
}
