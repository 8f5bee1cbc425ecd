//! AWS profiles from `~/.aws/credentials` and `~/.aws/config`.
//!
//! Only what a static profile holds is read: keys, session token, region and
//! endpoint. Profiles that fetch credentials themselves (SSO, `credential_process`,
//! role assumption) need the AWS SDK, which morsel does not embed; export
//! their result with `aws configure export-credentials --format env` instead.

use std::path::PathBuf;

use ini::Ini;

use super::errors::first_line;
use super::settings::{S3Key, S3Settings};
use crate::error::{Error, Result};

/// The settings of profile `name`; `Ok(None)` when neither file has it.
pub fn load(name: &str) -> Result<Option<S3Settings>> {
    let credentials = read(credentials_path())?;
    let config = read(config_path())?;
    // `credentials` names sections `[name]`; `config` uses `[profile name]`,
    // except for `[default]`.
    let config_section = if name == "default" {
        name.to_string()
    } else {
        format!("profile {name}")
    };
    let from_credentials = credentials.as_ref().and_then(|ini| ini.section(Some(name)));
    let from_config = config
        .as_ref()
        .and_then(|ini| ini.section(Some(config_section.as_str())));
    if from_credentials.is_none() && from_config.is_none() {
        return Ok(None);
    }
    let value = |key: &str| {
        from_credentials
            .and_then(|s| s.get(key))
            .or_else(|| from_config.and_then(|s| s.get(key)))
            .map(str::to_string)
    };
    Ok(Some(
        S3Settings::default()
            .with(S3Key::AccessKeyId, value("aws_access_key_id"))
            .with(S3Key::SecretAccessKey, value("aws_secret_access_key"))
            .with(S3Key::SessionToken, value("aws_session_token"))
            .with(S3Key::Region, value("region"))
            .with(S3Key::Endpoint, value("endpoint_url")),
    ))
}

fn read(path: Option<PathBuf>) -> Result<Option<Ini>> {
    let Some(path) = path.filter(|p| p.exists()) else {
        return Ok(None);
    };
    Ini::load_from_file(&path).map(Some).map_err(|e| {
        // The parser's message says where; never echo the file's contents.
        Error::query(format!(
            "{}: {}",
            path.display(),
            first_line(&e.to_string())
        ))
    })
}

fn credentials_path() -> Option<PathBuf> {
    aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
}

fn config_path() -> Option<PathBuf> {
    aws_file("AWS_CONFIG_FILE", "config")
}

fn aws_file(variable: &str, name: &str) -> Option<PathBuf> {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|home| home.join(".aws").join(name)))
}
