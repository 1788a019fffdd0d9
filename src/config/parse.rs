//! How each kind of setting is read from its text, and the message that
//! names the variable when it cannot be.

use std::{ffi::OsStr, fmt::Display, net::SocketAddr, str::FromStr, sync::Arc, time::Duration};

use clap::{
    Arg, Command,
    builder::TypedValueParser,
    error::{Error, ErrorKind},
};

use super::{Budget, LogFormat, Secret};

/// How every refused setting's message begins.
pub const CONFIGURATION_ERROR: &str = "configuration error: ";

/// Reads a setting's trimmed text, or `None` when it is not valid.
type Parse<T> = Arc<dyn Fn(&str) -> Option<T> + Send + Sync>;

/// A clap value parser for one setting: `parse` reads the trimmed text, or
/// returns `None`, and the error names the variable and what it expects.
#[derive(Clone)]
pub struct Setting<T> {
    expected: &'static str,
    parse: Parse<T>,
    /// Shown instead of a refused value that must not be echoed.
    hidden: Option<&'static str>,
}

pub fn setting<T>(
    expected: &'static str,
    parse: impl Fn(&str) -> Option<T> + Send + Sync + 'static,
) -> Setting<T> {
    Setting {
        expected,
        parse: Arc::new(parse),
        hidden: None,
    }
}

impl<T> Setting<T> {
    /// Never echo a refused value (a wrong secret); say `instead`.
    pub fn hiding_value(mut self, instead: &'static str) -> Self {
        self.hidden = Some(instead);
        self
    }
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Setting<T> {
    type Value = T;

    fn parse_ref(&self, _: &Command, arg: Option<&Arg>, value: &OsStr) -> Result<T, Error> {
        let text = value.to_str().map(str::trim);
        if let Some(parsed) = text.filter(|t| !t.is_empty()).and_then(|t| (self.parse)(t)) {
            return Ok(parsed);
        }
        let got = match (text, self.hidden) {
            (Some(""), _) => "nothing".to_owned(),
            (_, Some(instead)) => instead.to_owned(),
            (Some(text), None) => format!("{text:?}"),
            (None, None) => "text that is not UTF-8".to_owned(),
        };
        let var = arg
            .and_then(Arg::get_env)
            .map_or_else(|| "a setting".into(), OsStr::to_string_lossy);
        let message = format!(
            "{CONFIGURATION_ERROR}{var}: expected {}, got {got}\n",
            self.expected
        );
        Err(Error::raw(ErrorKind::ValueValidation, message))
    }
}

pub fn url(schemes: &'static [&'static str]) -> impl Fn(&str) -> Option<String> + Send + Sync {
    move |value| {
        let (scheme, rest) = value.split_once("://")?;
        (schemes.contains(&scheme) && !rest.is_empty()).then(|| value.to_owned())
    }
}

pub fn in_range<T>(min: T, max: T) -> impl Fn(&str) -> Option<T> + Send + Sync
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync,
{
    move |value| {
        let n: T = value.parse().ok()?;
        (min..=max).contains(&n).then_some(n)
    }
}

pub fn seconds(min: u64, max: u64) -> impl Fn(&str) -> Option<Duration> + Send + Sync {
    let whole = in_range(min, max);
    move |value| whole(value).map(Duration::from_secs)
}

pub fn duration(value: &str) -> Option<Duration> {
    humantime::parse_duration(value)
        .ok()
        .filter(|d| !d.is_zero())
}

pub fn socket_addr(value: &str) -> Option<SocketAddr> {
    value.parse().ok()
}

pub fn switch(value: &str) -> Option<bool> {
    match value {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

pub fn true_or_false(value: &str) -> Option<bool> {
    value.parse().ok()
}

pub fn log_format(value: &str) -> Option<LogFormat> {
    match value {
        "pretty" => Some(LogFormat::Pretty),
        "json" => Some(LogFormat::Json),
        _ => None,
    }
}

const SECRET_MIN_LEN: usize = 32;

/// A duration that may be zero.
pub fn duration_or_zero(value: &str) -> Option<Duration> {
    humantime::parse_duration(value).ok()
}

pub fn ticket_seed(value: &str) -> Option<super::TicketSeed> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let bytes = URL_SAFE_NO_PAD.decode(value.trim()).ok()?;
    Some(super::TicketSeed(bytes.try_into().ok()?))
}

pub fn secret(value: &str) -> Option<Secret> {
    (value.chars().count() >= SECRET_MIN_LEN).then(|| Secret::new(value))
}

/// Letters, digits, `_` and `-`: safe in Redis keys, NATS subjects and stream names.
pub fn prefix(value: &str) -> Option<String> {
    let valid = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    valid.then(|| value.to_owned())
}

/// Comma-separated origins such as `https://tickets.example.com`: a scheme
/// of http or https, a host, maybe a port, and nothing after.
pub fn origins(value: &str) -> Option<super::Origins> {
    let origins: Option<Vec<String>> = value
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let (scheme, host) = origin.split_once("://")?;
            let fine = matches!(scheme, "http" | "https")
                && !host.is_empty()
                && !host.contains(['/', '?', '#', ' ', '*']);
            fine.then(|| origin.to_owned())
        })
        .collect();
    origins.map(super::Origins)
}

/// A dot path of claim names, such as `realm_access.roles`: no empty part.
pub fn claim_path(value: &str) -> Option<String> {
    value
        .split('.')
        .all(|part| !part.is_empty() && !part.contains(char::is_whitespace))
        .then(|| value.to_owned())
}

/// `calls/window`, such as `20/1s` or `600/1m`.
pub fn budget(value: &str) -> Option<Budget> {
    let (calls, window) = value.split_once('/')?;
    let calls = in_range(1, 1_000_000)(calls.trim())?;
    let window = duration(window.trim())?;
    (window >= Duration::from_millis(100)).then_some(Budget { calls, window })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_paths_are_dot_separated_names() {
        assert_eq!(claim_path("roles").as_deref(), Some("roles"));
        assert_eq!(
            claim_path("realm_access.roles").as_deref(),
            Some("realm_access.roles")
        );
        for bad in [".roles", "roles.", "a..b", "a b"] {
            assert_eq!(claim_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn urls_need_a_known_scheme_and_a_host() {
        let postgres = url(&["postgres"]);
        assert!(postgres("postgres://localhost/db").is_some());
        assert!(postgres("mysql://localhost/db").is_none());
        assert!(postgres("postgres://").is_none());
        assert!(postgres("localhost").is_none());
    }

    #[test]
    fn origins_are_schemes_and_hosts_without_paths() {
        let parsed = origins("http://localhost:5173, https://tickets.example.com").unwrap();
        assert_eq!(
            parsed.0,
            ["http://localhost:5173", "https://tickets.example.com"]
        );
        assert_eq!(origins("").unwrap().0, Vec::<String>::new());
        for bad in [
            "localhost:5173",
            "ftp://x",
            "https://x/path",
            "https://*",
            "http://",
        ] {
            assert_eq!(origins(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranges_are_inclusive_and_reject_garbage() {
        let hold = in_range(1u64, 3600);
        assert_eq!(hold("1"), Some(1));
        assert_eq!(hold("3600"), Some(3600));
        assert_eq!(hold("0"), None);
        assert_eq!(hold("thirty"), None);
    }

    #[test]
    fn budgets_are_calls_per_window() {
        assert_eq!(
            budget("20/1s"),
            Some(Budget {
                calls: 20,
                window: Duration::from_secs(1)
            })
        );
        assert_eq!(
            budget(" 600 / 1m "),
            Some(Budget {
                calls: 600,
                window: Duration::from_secs(60)
            })
        );
        for bad in ["20", "0/1s", "20/0s", "20/10ms", "x/1s", "20/soon"] {
            assert_eq!(budget(bad), None, "{bad}");
        }
    }

    fn parse<T: Clone + Send + Sync + 'static>(
        setting: Setting<T>,
        var: &'static str,
        value: &str,
    ) -> Result<T, String> {
        let arg = Arg::new("x").env(var);
        setting
            .parse_ref(&Command::new("cinema"), Some(&arg), OsStr::new(value))
            .map_err(|err| err.to_string())
    }

    #[test]
    fn a_refused_setting_names_the_variable_and_what_it_expects() {
        let hold = setting("a number", seconds(1, 3600));
        let err = parse(hold.clone(), "CINEMA_HOLD_SECONDS", "x").unwrap_err();
        assert!(
            err.contains(r#"CINEMA_HOLD_SECONDS: expected a number, got "x""#),
            "{err}"
        );
        let missing = parse(hold, "CINEMA_HOLD_SECONDS", " ").unwrap_err();
        assert!(missing.contains("got nothing"), "{missing}");
    }

    #[test]
    fn a_refused_secret_is_not_echoed() {
        let jwt = setting("a long secret", secret).hiding_value("a shorter one");
        let err = parse(jwt, "CINEMA_JWT_SECRET", "tiny-secret-value").unwrap_err();
        assert!(err.contains("got a shorter one"), "{err}");
        assert!(!err.contains("tiny-secret-value"), "{err}");
    }
}
