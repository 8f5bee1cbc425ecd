//! S3 end to end, against a real S3 server on 127.0.0.1 (moto, with
//! signature checks on) and, for faults, a proxy of ours in front of it.
//!
//! Needs `moto_server` (`pip install "moto[s3]" flask flask-cors`), which
//! `tests/run.sh` installs.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tempfile::TempDir;

#[path = "s3/proxy.rs"]
mod proxy;
use proxy::FaultProxy;

mod common;
use common::cluster::Cluster;

/// Far above any healthy run; only a hang reaches it.
const HANG: Duration = Duration::from_secs(180);

struct Moto {
    endpoint: String,
    key: String,
    secret: String,
    control: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
    _server: Child,
}

/// The one server all tests of this file share; each test uses its own buckets.
fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/s3/moto_control.py");
        let mut server = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let stdin = server.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(server.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("moto control answers");
        let info: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            panic!(
                "no S3 server: is moto installed? (pip install \"moto[s3]\" flask flask-cors) {line}"
            )
        });
        Moto {
            endpoint: info["endpoint"].as_str().unwrap().to_string(),
            key: info["key"].as_str().unwrap().to_string(),
            secret: info["secret"].as_str().unwrap().to_string(),
            control: Mutex::new((stdin, stdout)),
            _server: server,
        }
    })
}

impl Moto {
    fn command(&self, line: &str) -> String {
        let mut control = self.control.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(control.0, "{line}").unwrap();
        let mut answer = String::new();
        control.1.read_line(&mut answer).unwrap();
        assert!(!answer.starts_with("error"), "{line}: {answer}");
        answer.trim().to_string()
    }

    fn bucket(&self, name: &str) {
        self.command(&format!("bucket {name}"));
    }

    /// A bucket holding `testdata/data` under `data/`.
    fn bucket_with_testdata(&self, name: &str) {
        self.bucket(name);
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/data");
        let store = self.store(name);
        block_on(async {
            for file in files_under(&root) {
                let relative = file.strip_prefix(&root).unwrap().to_string_lossy();
                let key = ObjectPath::from(format!("data/{relative}"));
                let bytes = std::fs::read(&file).unwrap();
                store.put(&key, bytes.into()).await.unwrap();
            }
        });
    }

    fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let store = self.store(bucket);
        let prefix = ObjectPath::from(prefix);
        let objects: Vec<_> = block_on(store.list(Some(&prefix)).try_collect()).unwrap();
        objects
            .into_iter()
            .map(|o| o.location.to_string())
            .collect()
    }

    /// A client of the test's own, to put and list objects directly.
    fn store(&self, bucket: &str) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name(bucket)
            .with_access_key_id(&self.key)
            .with_secret_access_key(&self.secret)
            .build()
            .unwrap()
    }

    /// The environment a user with working credentials would have.
    fn env(&self) -> Vec<(&'static str, String)> {
        self.env_for(&self.endpoint)
    }

    fn env_for(&self, endpoint: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", self.key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ]
    }
}

/// `morsel ARGS…` with only the given AWS variables and a HOME of its own
/// (so the developer's `~/.aws` stays out of it): (status, stdout, stderr).
fn morsel(args: &[&str], env: &[(&'static str, String)], home: &Path) -> (i32, String, String) {
    let mut command = assert_cmd::Command::cargo_bin("morsel").unwrap();
    for (name, _) in std::env::vars() {
        if name.starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HOME", home)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(args)
        .timeout(HANG);
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn home() -> TempDir {
    TempDir::new().unwrap()
}

/// The same SQL over the local test data, for the expected answer.
fn locally(sql: &str) -> String {
    let (code, out, err) = morsel(
        &["testdata/data", "--format", "csv", "-c", sql],
        &[],
        home().path(),
    );
    assert_eq!(code, 0, "{err}");
    out
}

/// Requests the `\timing` line of a run reports, e.g. `(12 requests, …)`.
fn requests(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.contains(" request"))
        .unwrap_or_else(|| panic!("no request count in: {stderr}"));
    let after = line.split('(').nth(1).unwrap();
    after.split_whitespace().next().unwrap().parse().unwrap()
}

const QUERIES: [&str; 4] = [
    "SELECT year, month, count(*) AS n, round(sum(amount), 2) AS total FROM events GROUP BY year, month ORDER BY year, month",
    "SELECT region, count(*) AS n FROM sales GROUP BY region ORDER BY region",
    "SELECT count(*) AS n FROM logs",
    "SELECT * FROM cities ORDER BY 1",
];

#[test]
fn a_bucket_prefix_is_a_directory_of_tables() {
    let s3 = moto();
    s3.bucket_with_testdata("tables");
    let home = home();
    for sql in QUERIES {
        let (code, out, err) = morsel(
            &["s3://tables/data/", "--format", "csv", "-c", sql],
            &s3.env(),
            home.path(),
        );
        assert_eq!(code, 0, "{sql}: {err}");
        assert_eq!(out, locally(sql), "{sql}");
    }
}

#[test]
fn direct_paths_globs_and_external_tables_read_from_the_bucket() {
    let s3 = moto();
    s3.bucket_with_testdata("direct");
    let home = home();
    let cases = [
        (
            "SELECT count(*) AS n FROM 's3://direct/data/events/'",
            "SELECT count(*) AS n FROM events",
        ),
        (
            "SELECT count(*) AS n FROM 's3://direct/data/logs/*/app.csv'",
            "SELECT count(*) AS n FROM logs",
        ),
        (
            "CREATE EXTERNAL TABLE ev STORED AS PARQUET PARTITIONED BY (year BIGINT, month VARCHAR) \
             LOCATION 's3://direct/data/events/'; \
             SELECT year, month, count(*) AS n FROM ev WHERE year = 2024 GROUP BY year, month ORDER BY month",
            "SELECT year, month, count(*) AS n FROM events WHERE year = 2024 GROUP BY year, month ORDER BY month",
        ),
    ];
    for (remote, local) in cases {
        let (code, out, err) = morsel(&["--format", "csv", "-c", remote], &s3.env(), home.path());
        assert_eq!(code, 0, "{remote}: {err}");
        assert_eq!(out, locally(local), "{remote}");
    }
}

#[test]
fn pruned_partitions_cost_no_requests() {
    let s3 = moto();
    s3.bucket_with_testdata("pruning");
    let home = home();
    let run = |filter: &str| {
        let sql =
            format!("SELECT count(*) AS n, round(sum(amount), 2) AS total FROM events {filter}");
        let (code, out, err) = morsel(
            &[
                "s3://pruning/data/",
                "--format",
                "csv",
                "-c",
                "\\timing",
                "-c",
                &sql,
            ],
            &s3.env(),
            home.path(),
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, locally(&sql));
        requests(&err)
    };
    let all = run("");
    let one_year = run("WHERE year = 2024");
    let one_month = run("WHERE year = 2024 AND month = '01'");
    let range = run("WHERE month > '01'");
    assert!(one_year < all, "{one_year} < {all}");
    assert!(one_month < one_year, "{one_month} < {one_year}");
    assert!(range < all, "{range} < {all}");
}

#[test]
fn copy_writes_partitioned_objects_that_read_back() {
    let s3 = moto();
    s3.bucket_with_testdata("copied");
    let home = home();
    let copy = "COPY (SELECT id, amount, year FROM events) TO 's3://copied/out/' \
                STORED AS PARQUET PARTITIONED BY (year)";
    let (code, _, err) = morsel(&["s3://copied/data/", "-c", copy], &s3.env(), home.path());
    assert_eq!(code, 0, "{err}");
    let keys = s3.keys("copied", "out/");
    assert!(!keys.is_empty());
    assert!(
        keys.iter()
            .all(|k| k.starts_with("out/year=2023/") || k.starts_with("out/year=2024/")),
        "{keys:?}"
    );
    assert!(
        s3.keys("copied", "")
            .iter()
            .all(|k| !k.contains(".morsel-copy"))
    );
    let sql = "SELECT year, count(*) AS n, round(sum(amount), 2) AS total FROM 's3://copied/out/' GROUP BY year ORDER BY year";
    let (code, out, err) = morsel(&["--format", "csv", "-c", sql], &s3.env(), home.path());
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        locally(
            "SELECT year, count(*) AS n, round(sum(amount), 2) AS total FROM events GROUP BY year ORDER BY year"
        )
    );
}

#[test]
fn tpch_generates_into_a_bucket_and_verifies_from_it() {
    let s3 = moto();
    s3.bucket("tpch");
    let home = home();
    let (code, _, err) = morsel(
        &["tpch", "gen", "--sf", "0.01", "--out", "s3://tpch/sf0.01/"],
        &s3.env(),
        home.path(),
    );
    assert_eq!(code, 0, "{err}");
    let keys = s3.keys("tpch", "sf0.01/");
    assert!(
        keys.contains(&"sf0.01/lineitem/part-0.parquet".to_string()),
        "{keys:?}"
    );
    assert!(keys.iter().all(|k| !k.contains("morsel-gen")), "{keys:?}");
    let (code, out, err) = morsel(
        &[
            "bench",
            "tpch",
            "--data",
            "s3://tpch/sf0.01/",
            "--iterations",
            "1",
            "--verify",
        ],
        &s3.env(),
        home.path(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("tpch: 22 passed, 0 failed"), "{out}");
}

fn write_profile(home: &Path, profile: &str, key: &str, secret: &str, endpoint: &str) {
    let aws = home.join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!("[{profile}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"),
    )
    .unwrap();
    std::fs::write(
        aws.join("config"),
        format!("[profile {profile}]\nregion = us-east-1\nendpoint_url = {endpoint}\n"),
    )
    .unwrap();
}

#[test]
fn credentials_and_endpoint_come_from_a_profile() {
    let s3 = moto();
    s3.bucket_with_testdata("profiles");
    let home = home();
    write_profile(home.path(), "moto", &s3.key, &s3.secret, &s3.endpoint);
    let sql = "SELECT count(*) AS n FROM events";
    let expected = locally(sql);
    let args = ["s3://profiles/data/", "--format", "csv", "-c", sql];

    let by_flag = [&["--profile", "moto"][..], &args].concat();
    let (code, out, err) = morsel(&by_flag, &[], home.path());
    assert_eq!((code, out.as_str()), (0, expected.as_str()), "{err}");

    let by_env = [("AWS_PROFILE", "moto".to_string())];
    let (code, out, err) = morsel(&args, &by_env, home.path());
    assert_eq!((code, out.as_str()), (0, expected.as_str()), "{err}");

    // A profile chosen on the command line beats keys in the environment.
    let stale = [
        ("AWS_ACCESS_KEY_ID", "AKIASTALE".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "stale".to_string()),
    ];
    let (code, out, err) = morsel(&by_flag, &stale, home.path());
    assert_eq!((code, out.as_str()), (0, expected.as_str()), "{err}");

    let missing = [&["--profile", "nope"][..], &args].concat();
    let (code, _, err) = morsel(&missing, &[], home.path());
    assert_eq!(code, 1);
    assert!(err.contains("AWS profile 'nope' not found"), "{err}");
}

#[test]
fn secrets_set_in_sql_work_and_never_show() {
    let s3 = moto();
    s3.bucket_with_testdata("secrets");
    let home = home();
    let host = s3.endpoint.trim_start_matches("http://");
    let script = format!(
        "CREATE SECRET morsel_test (TYPE s3, KEY_ID '{key}', SECRET '{secret}', \
           ENDPOINT '{host}', USE_SSL false, URL_STYLE 'path', REGION 'us-east-1');\n\
         SELECT count(*) AS n FROM 's3://secrets/data/events/';\n\
         SHOW s3.secret_access_key;\n\
         SHOW s3.access_key_id;\n\
         CREATE EXTERNAL TABLE t STORED AS CSV LOCATION 's3://secrets/data/cities.csv' \
           OPTIONS ('s3.access_key_id' '{key}', 's3.secret_access_key' '{secret}', \
                    's3.endpoint' '{endpoint}', 'format.has_header' 'true');\n\
         EXPLAIN SELECT * FROM t;\n\
         \\d t\n\
         SELECT count(*) AS n FROM t;\n\
         SET s3.region = 'us-east-1';\n\
         SELECT count(*) AS n FROM t;\n",
        key = s3.key,
        secret = s3.secret,
        endpoint = s3.endpoint,
    );
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("secrets.sql");
    std::fs::write(&file, script).unwrap();
    let (code, out, err) = morsel(
        &["--format", "csv", "-f", file.to_str().unwrap()],
        &[],
        home.path(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        !out.contains(&s3.secret) && !err.contains(&s3.secret),
        "{out}{err}"
    );
    assert!(out.contains("s3.secret_access_key,********"), "{out}");
    assert!(
        out.contains(&format!("s3.access_key_id,{}", s3.key)),
        "{out}"
    );
    let events = locally("SELECT count(*) AS n FROM events");
    let cities = locally("SELECT count(*) AS n FROM cities");
    assert!(out.starts_with(&events), "{out}");
    assert_eq!(out.matches(cities.as_str()).count(), 2, "{out}");

    let (code, _, err) = morsel(&["-c", "SET s3.regoin = 'x'"], &[], home.path());
    assert_eq!(code, 1);
    assert!(err.contains("unknown setting s3.regoin"), "{err}");
}

/// One line on stderr that says `what` and exit status 1.
fn assert_one_line_error(result: (i32, String, String), what: &str) {
    let (code, _, err) = result;
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(what), "expected '{what}' in: {err}");
}

#[test]
fn bad_credentials_buckets_and_prefixes_are_one_line_errors() {
    let s3 = moto();
    s3.bucket_with_testdata("errors");
    let home = home();
    let query = |url: &str, env: &[(&'static str, String)]| {
        let sql = format!("SELECT count(*) FROM '{url}'");
        morsel(&["-c", &sql], env, home.path())
    };
    let mut wrong_secret = s3.env();
    wrong_secret[1].1 = "not-the-secret".into();
    assert_one_line_error(
        query("s3://errors/data/events/", &wrong_secret),
        "the secret key does not match the access key",
    );
    let mut unknown_key = s3.env();
    unknown_key[0].1 = "AKIAUNKNOWN".into();
    assert_one_line_error(
        query("s3://errors/data/events/", &unknown_key),
        "the server does not know this access key",
    );
    assert_one_line_error(
        query("s3://no-such-bucket/data/", &s3.env()),
        "bucket does not exist",
    );
    assert_one_line_error(
        query("s3://errors/nothing-here/", &s3.env()),
        "s3://errors/nothing-here/: no objects at this location",
    );
    assert_one_line_error(
        morsel(
            &["s3://errors/nothing-here/", "-c", "SELECT 1"],
            &s3.env(),
            home.path(),
        ),
        "s3://errors/nothing-here/: no objects under this prefix",
    );
}

#[test]
fn an_unreachable_server_is_an_error_not_a_hang() {
    let s3 = moto();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let home = home();
    assert_one_line_error(
        morsel(
            &["-c", "SELECT count(*) FROM 's3://any/data/'"],
            &s3.env_for(&closed),
            home.path(),
        ),
        "cannot connect to the server",
    );
}

#[test]
fn retries_ride_out_503s_and_dropped_connections() {
    let s3 = moto();
    s3.bucket_with_testdata("flaky");
    let proxy = FaultProxy::start(&s3.endpoint);
    let home = home();
    let sql = "SELECT year, count(*) AS n FROM events GROUP BY year ORDER BY year";
    let expected = locally(sql);
    let faults: [fn(&FaultProxy, usize); 2] = [FaultProxy::fail_next, FaultProxy::drop_next];
    for fault in faults {
        fault(&proxy, 3);
        let before = proxy.requests();
        let (code, out, err) = morsel(
            &["s3://flaky/data/", "--format", "csv", "-c", sql],
            &s3.env_for(&proxy.endpoint),
            home.path(),
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, expected);
        assert!(proxy.requests() - before > 3, "the faults were hit");
    }
}

#[test]
fn a_server_that_dies_mid_query_ends_it_with_an_error() {
    let s3 = moto();
    s3.bucket_with_testdata("dying");
    let proxy = FaultProxy::start(&s3.endpoint);
    let home = home();
    // Listing and the first footers succeed; then the server is gone.
    proxy.die_after(4);
    let (code, _, err) = morsel(
        &["-c", "SELECT sum(amount) FROM 's3://dying/data/events/'"],
        &s3.env_for(&proxy.endpoint),
        home.path(),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot connect to the server"), "{err}");
}

#[test]
fn a_failed_copy_leaves_no_objects_behind() {
    let s3 = moto();
    s3.bucket_with_testdata("halfcopy");
    let proxy = FaultProxy::start(&s3.endpoint);
    let home = home();
    // The first object of the COPY is written, the second is refused.
    proxy.fail_method_after("PUT", 1);
    let copy = "SET s3.max_retries = 0; \
                COPY (SELECT id, amount, year, month FROM events) TO 's3://halfcopy/out/' \
                STORED AS PARQUET PARTITIONED BY (year, month)";
    let (code, _, err) = morsel(
        &["s3://halfcopy/data/", "-c", copy],
        &s3.env_for(&proxy.endpoint),
        home.path(),
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("SlowDown"),
        "the COPY failed on the refused PUT: {err}"
    );
    let left: Vec<String> = s3
        .keys("halfcopy", "")
        .into_iter()
        .filter(|k| !k.starts_with("data/"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_local_cluster_reads_the_bucket_with_its_own_environment() {
    // The scheduler (which lists the objects) and the executors (which
    // read them) find the endpoint and keys in the environment they
    // inherit, as processes on other machines would in theirs.
    let s3 = moto();
    s3.bucket_with_testdata("clustered");
    let home = home();
    for sql in QUERIES {
        let args = [
            "s3://clustered/data/",
            "--format",
            "csv",
            "--cluster",
            "local:2",
            "-c",
            sql,
        ];
        let (code, out, err) = morsel(&args, &s3.env(), home.path());
        assert_eq!(code, 0, "{sql}: {err}");
        assert_eq!(out, locally(sql), "{sql}");
    }
}

#[test]
fn secrets_set_in_sql_reach_a_cluster_and_never_show() {
    // The cluster's processes have no S3 settings of their own: the
    // scheduler lists the objects and the executors read them with what
    // the client's session set, a secret for the bucket and then a change.
    let s3 = moto();
    s3.bucket_with_testdata("far-secrets");
    let cluster = Cluster::start(2);
    let host = s3.endpoint.trim_start_matches("http://");
    let events = "SELECT year, count(*) AS n FROM 's3://far-secrets/data/events/' GROUP BY year ORDER BY year";
    let script = format!(
        "CREATE SECRET (TYPE s3, KEY_ID '{key}', SECRET '{secret}', ENDPOINT '{host}', \
           USE_SSL false, URL_STYLE 'path', SCOPE 's3://far-secrets');\n\
         SET s3.region = 'us-east-1';\n\
         {events};\n\
         EXPLAIN {events};\n\
         SHOW ALL;\n\
         SET s3.max_retries = 2;\n\
         SELECT count(*) AS n FROM 's3://far-secrets/data/cities.csv';\n",
        key = s3.key,
        secret = s3.secret,
    );
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("far.sql");
    std::fs::write(&file, script).unwrap();
    let home = home();
    let args = [
        "--format",
        "csv",
        "--cluster",
        &cluster.url,
        "-f",
        file.to_str().unwrap(),
    ];
    let (code, out, err) = morsel(&args, &[], home.path());
    assert_eq!(code, 0, "{out}{err}");
    let local_events =
        locally("SELECT year, count(*) AS n FROM events GROUP BY year ORDER BY year");
    assert!(out.starts_with(&local_events), "{out}");
    assert!(
        out.ends_with(&locally("SELECT count(*) AS n FROM cities")),
        "{out}"
    );
    let logs = [&cluster.scheduler]
        .into_iter()
        .chain(&cluster.executors)
        .flat_map(|process| process.lines_so_far())
        .collect::<Vec<_>>()
        .join("\n");
    for text in [&out, &err, &logs] {
        assert!(!text.contains(&s3.secret), "the secret shows in: {text}");
    }
}
