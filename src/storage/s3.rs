//! Turns merged [`S3Settings`] into an `object_store` S3 client.

use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};

use super::settings::{S3Key, S3Settings};

/// Retries for transient failures (5xx, dropped connections). Bounded in
/// time as well as count, so an unreachable server is an error within
/// seconds: 100 ms, 200 ms, … up to 2 s apart.
const DEFAULT_MAX_RETRIES: usize = 5;
const RETRY_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Environment variables by which object_store finds credentials that
/// expire and renew themselves (EKS, ECS); morsel lets it use them.
const SELF_RENEWING_CREDENTIALS: [&str; 3] = [
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

pub fn build(bucket: &str, settings: &S3Settings) -> object_store::Result<AmazonS3> {
    let (endpoint, plain_http) = endpoint(settings);
    let client = ClientOptions::new()
        .with_allow_http(plain_http)
        .with_timeout(settings.duration(S3Key::Timeout).unwrap_or(DEFAULT_TIMEOUT))
        .with_connect_timeout(
            settings
                .duration(S3Key::ConnectTimeout)
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        );
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: settings
            .get(S3Key::MaxRetries)
            .and_then(|n| n.parse().ok())
            .unwrap_or(DEFAULT_MAX_RETRIES),
        retry_timeout: RETRY_TIMEOUT,
    };
    // Starting from the environment picks up the self-renewing credential
    // sources; everything morsel resolves itself is set explicitly below.
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_region(settings.get(S3Key::Region).unwrap_or("us-east-1"))
        .with_client_options(client)
        .with_retry(retry)
        // A custom endpoint is usually MinIO, Ceph or a local server, which
        // want `http://host/bucket/key`; AWS itself serves both styles.
        .with_virtual_hosted_style_request(settings.get(S3Key::UrlStyle) == Some("vhost"));
    if let Some(endpoint) = endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    let anonymous = settings.flag(S3Key::Anonymous) == Some(true);
    match (
        settings.get(S3Key::AccessKeyId),
        settings.get(S3Key::SecretAccessKey),
    ) {
        (Some(key), Some(secret)) if !anonymous => {
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret);
            if let Some(token) = settings.get(S3Key::SessionToken) {
                builder = builder.with_token(token);
            }
        }
        _ if !anonymous && has_self_renewing_credentials() => {}
        // No credentials anywhere: unsigned requests, which public buckets
        // accept, as in DuckDB. (Probing the EC2 metadata service instead
        // would make every laptop wait for a timeout.)
        _ => builder = builder.with_skip_signature(true),
    }
    builder.build()
}

fn has_self_renewing_credentials() -> bool {
    SELF_RENEWING_CREDENTIALS
        .iter()
        .any(|name| std::env::var_os(name).is_some())
}

/// The endpoint URL and whether it is plain http. DuckDB users write the
/// endpoint without a scheme and say `use_ssl = false` for http.
fn endpoint(settings: &S3Settings) -> (Option<String>, bool) {
    let Some(endpoint) = settings.get(S3Key::Endpoint) else {
        return (None, false);
    };
    let endpoint = endpoint.trim_end_matches('/');
    if endpoint.contains("://") {
        return (Some(endpoint.to_string()), endpoint.starts_with("http://"));
    }
    let ssl = settings.flag(S3Key::UseSsl).unwrap_or(true);
    let scheme = if ssl { "https" } else { "http" };
    (Some(format!("{scheme}://{endpoint}")), !ssl)
}
