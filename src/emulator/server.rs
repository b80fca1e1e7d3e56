//! The accept loop: real TCP, real HTTP/1.1, and connections it can cut.
//!
//! The emulator owns its accept loop (rather than `axum::serve`) for two
//! reasons a fault-injecting server needs. A "drop" fault must close the TCP
//! connection without sending a byte — so each connection gets a kill switch
//! that the request handler can pull, and the connection task drops the socket
//! when it is pulled. And `shutdown` must really be a server going away: stop
//! accepting, close every live keep-alive connection, and release the port so
//! the next connect is refused and a new emulator can bind the same address.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinSet;

use super::app::{App, Outcome};

/// Pending connections the listener queues before accepting.
const LISTEN_BACKLOG: u32 = 1024;

/// Binds a listener on `addr` with `SO_REUSEADDR`, so an emulator restarted on
/// the address of one just shut down binds even while old sockets linger.
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Accepts and serves connections until `shutdown` fires (or its sender is
/// dropped); then closes the listener and every open connection.
pub(crate) async fn run(listener: TcpListener, app: Arc<App>, mut shutdown: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve_connection(stream, Arc::clone(&app)));
                }
                Err(error) => {
                    // Usually EMFILE; back off briefly instead of spinning.
                    tracing::warn!(%error, "emulator accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
    drop(listener);
    connections.shutdown().await;
}

/// Serves one keep-alive connection until the client closes it or a handler
/// asks for it to be dropped.
async fn serve_connection(stream: TcpStream, app: Arc<App>) {
    let kill = Arc::new(Notify::new());
    let handler_kill = Arc::clone(&kill);
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let app = Arc::clone(&app);
        let kill = Arc::clone(&handler_kill);
        async move {
            match app.handle(req.map(Body::new)).await {
                Outcome::Respond(reply) => Ok::<_, Infallible>(reply.into_response()),
                Outcome::Drop => {
                    // The connection task drops the socket; this response
                    // future is dropped with it and never completes.
                    kill.notify_one();
                    std::future::pending().await
                }
            }
        }
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, "emulator connection ended with an error");
            }
        }
        () = kill.notified() => {}
    }
}
