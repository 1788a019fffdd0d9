//! How every scenario ends: its correctness checks, the report on stdout,
//! the JSON file, and whether every check passed.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

/// One correctness check: what it must be, what it was.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub expected: String,
    pub actual: String,
    pub passed: bool,
}

impl Check {
    /// `actual` must equal `expected`.
    pub fn equal(name: &str, expected: impl ToString, actual: impl ToString) -> Self {
        let (expected, actual) = (expected.to_string(), actual.to_string());
        Self {
            name: name.to_owned(),
            passed: expected == actual,
            expected,
            actual,
        }
    }

    /// `passed` decides; `expected` says in words what should hold.
    pub fn holds(name: &str, expected: &str, actual: impl ToString, passed: bool) -> Self {
        Self {
            name: name.to_owned(),
            expected: expected.to_owned(),
            actual: actual.to_string(),
            passed,
        }
    }
}

/// The checks as text, one per line, failures marked.
fn checks_text(checks: &[Check]) -> String {
    let mut text = String::from("checks:\n");
    for check in checks {
        let mark = if check.passed { "ok  " } else { "FAIL" };
        text.push_str(&format!(
            "  {mark} {}: {} (expected {})\n",
            check.name, check.actual, check.expected
        ));
    }
    text
}

/// Every scenario's JSON has these fields beside its own figures.
#[derive(Serialize)]
struct Envelope<'a, F: Serialize> {
    scenario: &'static str,
    /// Every check passed.
    passed: bool,
    checks: &'a [Check],
    #[serde(flatten)]
    figures: &'a F,
}

/// Prints the report and its checks, writes the JSON, and says whether
/// every check passed.
pub fn finish<F: Serialize>(
    scenario: &'static str,
    text: &str,
    figures: &F,
    checks: &[Check],
    json: Option<&Path>,
) -> anyhow::Result<bool> {
    let passed = checks.iter().all(|check| check.passed);
    print!("{text}{}", checks_text(checks));
    if let Some(path) = json {
        let envelope = Envelope {
            scenario,
            passed,
            checks,
            figures,
        };
        let json = serde_json::to_string_pretty(&envelope).context("encoding the report")?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(passed)
}
