//! One-line explanations of object-store failures.
//!
//! object_store reports an S3 failure as the request, its retry history and
//! the server's XML body. A user needs the gist: which URL, and whether the
//! bucket is missing, the credentials are wrong or the server is unreachable.

/// [`store_error_message`] for failures of requests over the network; `None` for local
/// files, whose errors already say what happened.
pub fn remote_error_message(error: &object_store::Error) -> Option<String> {
    let text = error.to_string();
    (text.contains("http://") || text.contains("https://") || error_is_s3(error))
        .then(|| store_error_message(error))
}

fn error_is_s3(error: &object_store::Error) -> bool {
    matches!(error, object_store::Error::Generic { store, .. } if *store == "S3")
}

/// What went wrong, in a line, with the request's URL when there was one.
pub fn store_error_message(error: &object_store::Error) -> String {
    let text = error.to_string();
    let url = request_url(&text);
    let what = match xml_tag(&text, "Code") {
        Some("NoSuchBucket") => "bucket does not exist".to_string(),
        Some("InvalidAccessKeyId") => {
            "the server does not know this access key (check the credentials)".to_string()
        }
        Some("SignatureDoesNotMatch") => {
            "the secret key does not match the access key (check the credentials)".to_string()
        }
        Some("AccessDenied") => "access denied (check the credentials and policy)".to_string(),
        Some("NoSuchKey") => "no such object".to_string(),
        Some(code) => match xml_tag(&text, "Message") {
            Some(message) => format!("{code}: {message}"),
            None => code.to_string(),
        },
        None => transport_problem(error, &text),
    };
    match url {
        Some(url) => format!("{what} ({url})"),
        None => what,
    }
}

/// Why a request got no answer from S3. The kind of failure is only in the
/// error's structure (its Debug form), not in its message.
fn transport_problem(error: &object_store::Error, text: &str) -> String {
    let detail = format!("{error:?}");
    let retries = detail
        .split("retries: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .filter(|n| *n != "0")
        .map(|n| format!(" after {n} retries"))
        .unwrap_or_default();
    if detail.contains("kind: Connect") || detail.contains("ConnectionRefused") {
        format!("cannot connect to the server{retries}")
    } else if detail.contains("kind: Timeout") || detail.contains("TimedOut") {
        format!("the server did not answer in time{retries}")
    } else if detail.contains("kind: Interrupted") || detail.contains("kind: Request") {
        format!("the connection to the server was lost{retries}")
    } else if let Some(status) = text.split("status code: ").nth(1) {
        format!(
            "the server answered {}{retries}",
            first_line(status).trim_end_matches(':')
        )
    } else if let object_store::Error::NotFound { path, .. } = error {
        format!("{path}: not found")
    } else {
        first_line(text).to_string()
    }
}

/// The URL of the failed request, without its query string.
fn request_url(text: &str) -> Option<&str> {
    let start = text.find("http://").or_else(|| text.find("https://"))?;
    let url = text[start..]
        .split(|c: char| c.is_whitespace() || c == '?')
        .next()?;
    Some(url.trim_end_matches([',', ':', ')']))
}

fn xml_tag<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{tag}>"))? + start;
    Some(&text[start..end])
}

pub(super) fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
