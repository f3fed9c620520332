//! Prices per token from LiteLLM's `config.yaml`, for the cost of a request when LiteLLM did not say it in
//! `x-litellm-response-cost`.
//!
//! Each `model_list` entry may carry `input_cost_per_token` and `output_cost_per_token` in `model_info`
//! (or, as LiteLLM also accepts, in `litellm_params`); the gateway looks prices up by the entry's
//! `model_name`, the name clients ask for; a wildcard entry (`*`, `openai/*`) prices the names it routes. A missing file means no prices (cost 0 unless LiteLLM says it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum PricesError {
    #[error("{}: cannot read LiteLLM's config: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a LiteLLM config: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: serde_norway::Error,
    },
}

/// USD per prompt token and per completion token.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

impl Price {
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        self.input * prompt_tokens as f64 + self.output * completion_tokens as f64
    }
}

#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    model_list: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    model_name: String,
    #[serde(default)]
    model_info: Costs,
    #[serde(default)]
    litellm_params: Costs,
}

#[derive(Debug, Default, Deserialize)]
struct Costs {
    input_cost_per_token: Option<f64>,
    output_cost_per_token: Option<f64>,
}

/// Prices by model name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prices(HashMap<String, Price>);

impl Prices {
    /// Reads `path`; a missing file is no prices.
    pub fn load(path: &Path) -> Result<Prices, PricesError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Prices::parse(&text).map_err(|source| PricesError::Parse {
                path: path.to_owned(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Prices::default()),
            Err(source) => Err(PricesError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    fn parse(text: &str) -> Result<Prices, serde_norway::Error> {
        let file: File = serde_norway::from_str(text)?;
        let mut prices = HashMap::new();
        for entry in file.model_list {
            let pick = |a: Option<f64>, b: Option<f64>| a.or(b);
            let input = pick(
                entry.model_info.input_cost_per_token,
                entry.litellm_params.input_cost_per_token,
            );
            let output = pick(
                entry.model_info.output_cost_per_token,
                entry.litellm_params.output_cost_per_token,
            );
            // An entry without prices is still that model's: it does not fall back to a wildcard.
            prices.insert(
                entry.model_name,
                Price {
                    input: input.unwrap_or(0.0),
                    output: output.unwrap_or(0.0),
                },
            );
        }
        Ok(Prices(prices))
    }

    /// The price of `model`: its own entry, else the longest wildcard entry (`openai/*`, `*`) matching it.
    pub fn get(&self, model: &str) -> Price {
        if let Some(price) = self.0.get(model) {
            return *price;
        }
        self.0
            .iter()
            .filter_map(|(name, price)| {
                let prefix = name.strip_suffix('*')?;
                model.starts_with(prefix).then_some((prefix.len(), *price))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, price)| price)
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_info_wins_over_litellm_params() {
        let prices = Prices::parse(
            r#"
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      input_cost_per_token: 0.1
    model_info:
      input_cost_per_token: 0.0000025
      output_cost_per_token: 0.00001
  - model_name: cheap
    litellm_params:
      model: openai/cheap
      output_cost_per_token: 0.5
  - model_name: free
    litellm_params:
      model: openai/free
  - model_name: "*"
    litellm_params:
      model: openai/*
    model_info:
      input_cost_per_token: 1.0
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"#,
        )
        .unwrap();
        assert_eq!(prices.len(), 4);
        assert_eq!(prices.get("anything-else").cost(2, 5), 2.0);
        assert!((prices.get("gpt-4o").cost(1000, 100) - 0.0035).abs() < 1e-12);
        assert_eq!(prices.get("cheap").cost(10, 2), 1.0);
        assert_eq!(prices.get("free").cost(10, 2), 0.0);
        assert!(
            Prices::load(Path::new("/nonexistent/config.yaml"))
                .unwrap()
                .is_empty()
        );
    }
}
