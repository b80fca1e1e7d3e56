//! A small hostile HTTP/1.1 server for security tests: it records every
//! request it receives (head and body) and answers with whatever bytes the
//! test chooses — redirects, looping pages, oversized bodies — which the
//! emulator, being well-behaved, never sends.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Request line and headers, as sent.
    pub head: String,
    /// The body.
    pub body: Vec<u8>,
}

/// A running hostile server.
pub struct Hostile {
    /// Where it listens.
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Hostile {
    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listens on `bind` (e.g. `127.0.0.2:0`) and answers each request with
/// `respond(request)`, a whole HTTP response, then closes the connection.
pub async fn hostile<F>(bind: &str, respond: F) -> Hostile
where
    F: Fn(&Recorded) -> Vec<u8> + Send + Sync + 'static,
{
    let listener = TcpListener::bind(bind).await.expect("hostile server binds");
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    let respond = Arc::new(respond);
    let task = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let seen = seen.clone();
            let respond = respond.clone();
            tokio::spawn(async move {
                let (read, mut write) = sock.into_split();
                let mut reader = BufReader::new(read);
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let end = line == "\r\n";
                    head.push_str(&line);
                    if end {
                        break;
                    }
                }
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                let mut body = vec![0; len];
                if reader.read_exact(&mut body).await.is_err() {
                    return;
                }
                let req = Recorded { head, body };
                seen.lock().unwrap().push(req.clone());
                let answer = respond(&req);
                // The client may hang up early (a cap it enforces); fine.
                let _ = write.write_all(&answer).await;
                let _ = write.shutdown().await;
            });
        }
    });
    Hostile {
        addr,
        requests,
        task,
    }
}

/// A whole response with a JSON body.
pub fn json_response(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A redirect to `location`.
pub fn redirect_response(status: u16, location: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} Moved\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
    .into_bytes()
}
