//! A loopback HTTP proxy between morsel and the S3 server that fails on purpose.
//!
//! Each request gets its own upstream connection, so a fault hits exactly
//! the requests the test asked for: answer 503 to the next N, drop the
//! connection of the next N without an answer, answer 503 to a method after
//! some requests of it went through, or die (refuse every connection) after
//! N requests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Faults {
    fail_next: AtomicUsize,
    drop_next: AtomicUsize,
    /// (method, requests of it still let through) before 503s start.
    fail_method: Mutex<Option<(String, usize)>>,
    die_after: Mutex<Option<usize>>,
    dead: AtomicBool,
    requests: AtomicUsize,
}

pub struct FaultProxy {
    pub endpoint: String,
    faults: Arc<Faults>,
}

impl FaultProxy {
    pub fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        listener.set_nonblocking(true).expect("non-blocking");
        let faults = Arc::new(Faults::default());
        let shared = Arc::clone(&faults);
        std::thread::spawn(move || accept(listener, &upstream, shared));
        Self { endpoint, faults }
    }

    /// Answers the next `n` requests with 503 Slow Down.
    pub fn fail_next(&self, n: usize) {
        self.faults.fail_next.store(n, Ordering::SeqCst);
    }

    /// Closes the connection of the next `n` requests without answering.
    pub fn drop_next(&self, n: usize) {
        self.faults.drop_next.store(n, Ordering::SeqCst);
    }

    /// Lets `allowed` requests with `method` through, then answers 503 to it.
    pub fn fail_method_after(&self, method: &str, allowed: usize) {
        *self.faults.fail_method.lock().unwrap() = Some((method.to_string(), allowed));
    }

    /// Stops the server for good after `n` more requests.
    pub fn die_after(&self, n: usize) {
        let seen = self.faults.requests.load(Ordering::SeqCst);
        *self.faults.die_after.lock().unwrap() = Some(seen + n);
    }

    pub fn requests(&self) -> usize {
        self.faults.requests.load(Ordering::SeqCst)
    }
}

fn accept(listener: TcpListener, upstream: &str, faults: Arc<Faults>) {
    // Polling lets the proxy drop its listener when it dies, so that new
    // connections are refused as by a server that is gone.
    while !faults.dead.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let upstream = upstream.to_string();
                let faults = Arc::clone(&faults);
                std::thread::spawn(move || {
                    let _ = serve(client, &upstream, &faults);
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn take(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// Serves one request on `client`, then closes it.
fn serve(client: TcpStream, upstream: &str, faults: &Faults) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            content_length = value.trim().parse().unwrap_or(0);
        }
        if !lower.starts_with("connection:") {
            head.push(line);
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    let method = head
        .first()
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or("")
        .to_string();

    let count = faults.requests.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(limit) = *faults.die_after.lock().unwrap()
        && count > limit
    {
        faults.dead.store(true, Ordering::SeqCst);
    }
    if faults.dead.load(Ordering::SeqCst) || take(&faults.drop_next) {
        return Ok(());
    }
    let mut client = client;
    if take(&faults.fail_next) || method_fails(faults, &method) {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>\
                    <Message>Please reduce your request rate.</Message></Error>";
        return write!(
            client,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    let mut server = TcpStream::connect(upstream)?;
    for line in &head {
        server.write_all(line.as_bytes())?;
    }
    server.write_all(b"Connection: close\r\n\r\n")?;
    server.write_all(&body)?;
    let mut response = Vec::new();
    server.read_to_end(&mut response)?;
    client.write_all(&response)
}

fn method_fails(faults: &Faults, method: &str) -> bool {
    let mut rule = faults.fail_method.lock().unwrap();
    match rule.as_mut() {
        Some((failing, allowed)) if failing == method => {
            if *allowed == 0 {
                true
            } else {
                *allowed -= 1;
                false
            }
        }
        _ => false,
    }
}
