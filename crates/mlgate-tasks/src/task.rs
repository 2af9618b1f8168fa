//! The public vocabulary of detection: tasks, confidence, input roles and the report.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;

/// What kind of data a model consumes, which decides what its synthetic inputs look like.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Vision,
    Nlp,
    Audio,
    Tabular,
    Unknown,
}

impl Task {
    pub const ALL: [Task; 5] = [
        Task::Vision,
        Task::Nlp,
        Task::Audio,
        Task::Tabular,
        Task::Unknown,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Task::Vision => "vision",
            Task::Nlp => "nlp",
            Task::Audio => "audio",
            Task::Tabular => "tabular",
            Task::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Task {
    type Err = TaskError;

    /// Accepts the names `--task` documents, plus the common synonyms users type.
    fn from_str(s: &str) -> Result<Self, TaskError> {
        let lower = s.trim().to_ascii_lowercase();
        let task = match lower.as_str() {
            "vision" | "image" | "cv" => Task::Vision,
            "nlp" | "text" | "language" => Task::Nlp,
            "audio" | "speech" => Task::Audio,
            "tabular" | "table" | "features" => Task::Tabular,
            "unknown" | "none" => Task::Unknown,
            _ => {
                return Err(TaskError::UnknownTask {
                    name: s.to_string(),
                })
            }
        };
        Ok(task)
    }
}

/// How sure detection is: `high` comes from how the graph uses its inputs, `medium` from
/// tensor names, `low` from shapes and dtypes alone.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn name(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the reported task came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskSource {
    /// Detected from the model.
    Detected,
    /// Given by the user (`--task`).
    Override,
}

/// What one model input carries, which decides how it is synthesised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputRole {
    /// An image: smooth structure plus noise, in the model's value range.
    Image,
    /// Token ids inside the vocabulary.
    TokenIds,
    /// Ones: every token attended.
    AttentionMask,
    /// Zeros: a single segment.
    TokenTypeIds,
    /// 0, 1, 2, … along the sequence.
    PositionIds,
    /// Audio samples in [-1, 1]: tones plus noise.
    Waveform,
    /// A log-mel spectrogram.
    Spectrogram,
    /// Standard-normal features, as a scaler would produce.
    Features,
    /// Recurrent state or cache carried between calls: zeros, as at the start of a stream.
    State,
    /// An audio sample rate: 16000.
    SampleRate,
    /// A boolean switch: false.
    Flag,
    /// Nothing says what it is: zeros.
    Unknown,
}

impl InputRole {
    pub fn name(self) -> &'static str {
        match self {
            InputRole::Image => "image",
            InputRole::TokenIds => "token ids",
            InputRole::AttentionMask => "attention mask",
            InputRole::TokenTypeIds => "token type ids",
            InputRole::PositionIds => "position ids",
            InputRole::Waveform => "waveform",
            InputRole::Spectrogram => "spectrogram",
            InputRole::Features => "features",
            InputRole::State => "recurrent state",
            InputRole::SampleRate => "sample rate",
            InputRole::Flag => "flag",
            InputRole::Unknown => "unknown",
        }
    }

    /// The task this role is the main input of; auxiliary roles (masks, state, sample rates)
    /// have none.
    pub fn primary_task(self) -> Option<Task> {
        match self {
            InputRole::Image => Some(Task::Vision),
            InputRole::TokenIds => Some(Task::Nlp),
            InputRole::Waveform | InputRole::Spectrogram => Some(Task::Audio),
            InputRole::Features => Some(Task::Tabular),
            _ => None,
        }
    }
}

impl fmt::Display for InputRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The role detection gave one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InputAssessment {
    /// The input's name in the model.
    pub name: String,
    pub role: InputRole,
}

/// The answer to "what kind of model is this?", with the reasons a person can check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaskReport {
    pub task: Task,
    pub confidence: Confidence,
    pub source: TaskSource,
    /// Why, one finding per line, most telling first. Each starts with its tier: `graph:`,
    /// `name:`, `shape:` (or `override:`).
    pub evidence: Vec<String>,
    /// The role of every model input, in the model's order.
    pub inputs: Vec<InputAssessment>,
    /// Set when the task may be wrong (medium or low confidence, unknown): what to check and
    /// how to override it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl TaskReport {
    /// The role of the input called `name`.
    pub fn role_of(&self, name: &str) -> Option<InputRole> {
        self.inputs.iter().find(|i| i.name == name).map(|i| i.role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_names_round_trip_and_bad_names_list_the_choices() {
        for t in Task::ALL {
            assert_eq!(t.name().parse::<Task>().unwrap(), t);
        }
        assert_eq!(" Image ".parse::<Task>().unwrap(), Task::Vision);
        let e = "video".parse::<Task>().unwrap_err().to_string();
        assert!(
            e.contains("'video'") && e.contains("vision, nlp, audio, tabular"),
            "{e}"
        );
    }

    #[test]
    fn report_serializes_in_lowercase() {
        let r = TaskReport {
            task: Task::Nlp,
            confidence: Confidence::High,
            source: TaskSource::Detected,
            evidence: vec!["graph: x".into()],
            inputs: vec![InputAssessment {
                name: "input_ids".into(),
                role: InputRole::TokenIds,
            }],
            warning: None,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["task"], "nlp");
        assert_eq!(v["confidence"], "high");
        assert_eq!(v["source"], "detected");
        assert_eq!(v["inputs"][0]["role"], "token_ids");
        assert!(v.get("warning").is_none());
    }
}
