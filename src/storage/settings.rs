//! S3 settings: where a bucket is and who morsel is to it.
//!
//! A user's S3 setup is spread over several places, and morsel reads them
//! the way the AWS tools do, lowest layer first:
//!
//! 1. a profile in `~/.aws/credentials` and `~/.aws/config`;
//! 2. the `AWS_*` environment variables;
//! 3. the session: `SET s3.region = …` or `CREATE SECRET (TYPE s3, …)`;
//! 4. one bucket: `CREATE SECRET (…, SCOPE 's3://bucket')` or a table's
//!    `OPTIONS ('s3.…' …)`.
//!
//! A profile named on purpose (`--profile`, `SET s3.profile`) beats the
//! environment, as `aws --profile` does. Credentials travel as a unit: a
//! layer that names an access key also replaces the secret and token below
//! it, so a key from one place is never signed with a secret from another.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};

/// One S3 setting, named as in DuckDB (`s3.region` here, `s3_region` there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum S3Key {
    AccessKeyId,
    SecretAccessKey,
    SessionToken,
    Region,
    Endpoint,
    UrlStyle,
    UseSsl,
    Anonymous,
    Profile,
    MaxRetries,
    Timeout,
    ConnectTimeout,
}

impl S3Key {
    pub const ALL: [S3Key; 12] = [
        S3Key::AccessKeyId,
        S3Key::SecretAccessKey,
        S3Key::SessionToken,
        S3Key::Region,
        S3Key::Endpoint,
        S3Key::UrlStyle,
        S3Key::UseSsl,
        S3Key::Anonymous,
        S3Key::Profile,
        S3Key::MaxRetries,
        S3Key::Timeout,
        S3Key::ConnectTimeout,
    ];

    pub fn name(self) -> &'static str {
        match self {
            S3Key::AccessKeyId => "access_key_id",
            S3Key::SecretAccessKey => "secret_access_key",
            S3Key::SessionToken => "session_token",
            S3Key::Region => "region",
            S3Key::Endpoint => "endpoint",
            S3Key::UrlStyle => "url_style",
            S3Key::UseSsl => "use_ssl",
            S3Key::Anonymous => "anonymous",
            S3Key::Profile => "profile",
            S3Key::MaxRetries => "max_retries",
            S3Key::Timeout => "timeout",
            S3Key::ConnectTimeout => "connect_timeout",
        }
    }

    /// Values that must never be shown: not in `SHOW`, errors or plans.
    pub fn is_secret(self) -> bool {
        matches!(self, S3Key::SecretAccessKey | S3Key::SessionToken)
    }

    fn is_credential(self) -> bool {
        matches!(
            self,
            S3Key::AccessKeyId | S3Key::SecretAccessKey | S3Key::SessionToken
        )
    }

    /// The key for a setting name: `s3.region`, `s3_region` (DuckDB) or, in
    /// `CREATE SECRET`, DuckDB's short names such as `KEY_ID` and `SECRET`.
    pub fn parse(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        let bare = lower
            .strip_prefix("s3.")
            .or_else(|| lower.strip_prefix("s3_"))
            .unwrap_or(&lower);
        let bare = match bare {
            "key_id" => "access_key_id",
            "secret" => "secret_access_key",
            "token" => "session_token",
            other => other,
        };
        Self::ALL.into_iter().find(|key| key.name() == bare)
    }

    /// The key for a variable in the `s3` namespace, `None` for other
    /// namespaces, and an error for a misspelled key, so `SET s3.regoin`
    /// does not pass silently.
    pub fn lookup(variable: &str) -> Result<Option<Self>> {
        let lower = variable.to_ascii_lowercase();
        if !(lower.starts_with("s3.") || lower.starts_with("s3_")) {
            return Ok(None);
        }
        Self::parse(&lower).map(Some).ok_or_else(|| {
            let known: Vec<String> = Self::ALL
                .iter()
                .map(|key| format!("s3.{}", key.name()))
                .collect();
            Error::query(format!(
                "unknown setting {variable}; S3 settings are {}",
                known.join(", ")
            ))
        })
    }

    /// Checks a value when it is set, so a typo fails at `SET`, not at the
    /// first query.
    fn validate(self, value: &str) -> Result<()> {
        let ok = match self {
            S3Key::UrlStyle => matches!(value, "path" | "vhost"),
            S3Key::UseSsl | S3Key::Anonymous => parse_bool(value).is_some(),
            S3Key::MaxRetries => value.parse::<usize>().is_ok(),
            S3Key::Timeout | S3Key::ConnectTimeout => parse_duration(value).is_some(),
            _ => true,
        };
        if ok {
            return Ok(());
        }
        let expected = match self {
            S3Key::UrlStyle => "'path' or 'vhost'",
            S3Key::UseSsl | S3Key::Anonymous => "true or false",
            S3Key::MaxRetries => "a whole number",
            _ => "a duration such as '30s' or '500ms'",
        };
        Err(Error::query(format!(
            "s3.{}: expected {expected}, got '{value}'",
            self.name()
        )))
    }
}

/// A set of S3 settings: one layer, or several merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Settings(BTreeMap<S3Key, String>);

impl S3Settings {
    pub fn get(&self, key: S3Key) -> Option<&str> {
        self.0.get(&key).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each setting and its value, secrets included.
    pub fn iter(&self) -> impl Iterator<Item = (S3Key, &str)> {
        self.0.iter().map(|(key, value)| (*key, value.as_str()))
    }

    /// Sets a value after checking it.
    pub fn set(&mut self, key: S3Key, value: &str) -> Result<()> {
        key.validate(value)?;
        self.0.insert(key, value.to_string());
        Ok(())
    }

    /// Sets a value from a trusted source (environment, profile files).
    pub(crate) fn with(mut self, key: S3Key, value: Option<String>) -> Self {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            self.0.insert(key, value);
        }
        self
    }

    /// `self` with `upper` laid on top.
    pub fn overlay(&self, upper: &S3Settings) -> S3Settings {
        let mut merged = self.clone();
        if upper.get(S3Key::AccessKeyId).is_some() {
            merged.0.retain(|key, _| !key.is_credential());
        }
        for (key, value) in &upper.0 {
            merged.0.insert(*key, value.clone());
        }
        merged
    }

    pub fn flag(&self, key: S3Key) -> Option<bool> {
        self.get(key).and_then(parse_bool)
    }

    pub fn duration(&self, key: S3Key) -> Option<Duration> {
        self.get(key).and_then(parse_duration)
    }

    /// A value as `SHOW` prints it: secrets are masked.
    pub fn shown(&self, key: S3Key) -> String {
        match self.get(key) {
            None => String::new(),
            Some(_) if key.is_secret() => "********".to_string(),
            Some(value) => value.to_string(),
        }
    }
}

/// Never prints secrets, so a settings value in a log or an error is safe.
impl fmt::Display for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self
            .0
            .keys()
            .map(|key| format!("s3.{}={}", key.name(), self.shown(*key)))
            .collect();
        f.write_str(&shown.join(", "))
    }
}

/// The settings in the `AWS_*` environment variables.
pub fn from_env() -> S3Settings {
    let var = |name: &str| std::env::var(name).ok();
    S3Settings::default()
        .with(S3Key::AccessKeyId, var("AWS_ACCESS_KEY_ID"))
        .with(S3Key::SecretAccessKey, var("AWS_SECRET_ACCESS_KEY"))
        .with(S3Key::SessionToken, var("AWS_SESSION_TOKEN"))
        .with(
            S3Key::Region,
            var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
        )
        .with(
            S3Key::Endpoint,
            var("AWS_ENDPOINT_URL_S3")
                .or_else(|| var("AWS_ENDPOINT_URL"))
                .or_else(|| var("AWS_ENDPOINT")),
        )
        .with(S3Key::Anonymous, var("AWS_SKIP_SIGNATURE"))
}

pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "on" | "1" | "yes" => Some(true),
        "false" | "off" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// `30s`, `500ms`, `2m` or a bare number of seconds.
pub fn parse_duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    let (number, unit) = value
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((value, "s"), |at| value.split_at(at));
    let number: f64 = number.trim().parse().ok()?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" | "min" => number * 60.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_morsel_duckdb_and_create_secret() {
        assert_eq!(S3Key::parse("s3.region"), Some(S3Key::Region));
        assert_eq!(S3Key::parse("S3_ACCESS_KEY_ID"), Some(S3Key::AccessKeyId));
        assert_eq!(S3Key::parse("SECRET"), Some(S3Key::SecretAccessKey));
        assert_eq!(S3Key::parse("s3.colour"), None);
    }

    #[test]
    fn an_access_key_brings_its_own_secret() {
        let mut lower = S3Settings::default();
        lower.set(S3Key::AccessKeyId, "A").unwrap();
        lower.set(S3Key::SecretAccessKey, "a-secret").unwrap();
        lower.set(S3Key::SessionToken, "a-token").unwrap();
        lower.set(S3Key::Region, "eu-west-1").unwrap();
        let mut upper = S3Settings::default();
        upper.set(S3Key::AccessKeyId, "B").unwrap();
        upper.set(S3Key::SecretAccessKey, "b-secret").unwrap();
        let merged = lower.overlay(&upper);
        assert_eq!(merged.get(S3Key::AccessKeyId), Some("B"));
        assert_eq!(merged.get(S3Key::SessionToken), None);
        assert_eq!(merged.get(S3Key::Region), Some("eu-west-1"));
    }

    #[test]
    fn secrets_are_masked_when_shown() {
        let mut settings = S3Settings::default();
        settings.set(S3Key::SecretAccessKey, "hunter2").unwrap();
        assert!(!settings.to_string().contains("hunter2"));
        assert_eq!(settings.shown(S3Key::SecretAccessKey), "********");
    }

    #[test]
    fn bad_values_are_refused_at_set() {
        let mut settings = S3Settings::default();
        assert!(settings.set(S3Key::UrlStyle, "virtual").is_err());
        assert!(settings.set(S3Key::Timeout, "soon").is_err());
        settings.set(S3Key::Timeout, "1.5s").unwrap();
        assert_eq!(
            settings.duration(S3Key::Timeout),
            Some(Duration::from_millis(1500))
        );
    }
}
