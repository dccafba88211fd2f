//! A fault-injecting TCP proxy on loopback, for servers we cannot change: it forwards HTTP/1.1
//! requests and answers as they are, and does to the bodies of chosen requests what a bad
//! network does: flips a byte in transit, or cuts the connection partway through.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// What happens to one request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFault {
    /// The body byte at this offset arrives with its bits flipped.
    Corrupt {
        /// Offset in the body.
        at: u64,
    },
    /// The connection is closed (both ways) after this many body bytes: a drop mid-request.
    Cut {
        /// Body bytes forwarded first.
        after: u64,
    },
}

#[derive(Default)]
struct Shared {
    /// Faults by the number of the body-carrying request they hit (1 = the first).
    faults: Mutex<BTreeMap<usize, BodyFault>>,
    bodies: AtomicUsize,
    applied: AtomicUsize,
    /// Request bytes per second let through (0: no limit).
    rate: AtomicU64,
}

/// A running proxy; it stops with the process.
#[derive(Clone)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// A proxy on 127.0.0.1 in front of `upstream`.
    pub fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let shared = accepting.clone();
                thread::spawn(move || {
                    let _ = relay(client, upstream, &shared);
                });
            }
        });
        Ok(FaultProxy { addr, shared })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Does `fault` to the body of the `nth` request that carries one (1 = the first).
    pub fn on_body(&self, nth: usize, fault: BodyFault) {
        self.shared.faults.lock().unwrap().insert(nth, fault);
    }

    /// Lets request bytes through at about `bytes_per_second` (0: as fast as they come), so an
    /// upload takes long enough to be interrupted at a chosen moment.
    pub fn throttle(&self, bytes_per_second: u64) {
        self.shared.rate.store(bytes_per_second, Ordering::SeqCst);
    }

    /// Faults done so far.
    pub fn applied(&self) -> usize {
        self.shared.applied.load(Ordering::SeqCst)
    }
}

/// Relays one connection: answers raw, requests parsed enough to find their bodies.
fn relay(mut client: TcpStream, upstream: SocketAddr, shared: &Shared) -> io::Result<()> {
    let mut server = TcpStream::connect(upstream)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let mut answers_from = server.try_clone()?;
    let mut answers_to = client.try_clone()?;
    let answers = thread::spawn(move || {
        let _ = io::copy(&mut answers_from, &mut answers_to);
        let _ = answers_to.shutdown(Shutdown::Write);
    });
    let result = requests(&mut client, &mut server, shared);
    let _ = server.shutdown(Shutdown::Write);
    if result.is_err() {
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
    }
    let _ = answers.join();
    result
}

fn requests(client: &mut TcpStream, server: &mut TcpStream, shared: &Shared) -> io::Result<()> {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // The head: up to the blank line.
        let head_end = loop {
            if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = client.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            pending.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&pending[..head_end]).to_string();
        server.write_all(&pending[..head_end])?;
        pending.drain(..head_end);
        let length = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, value)| value.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            // Not parsed: the rest of the connection passes as it is.
            server.write_all(&pending)?;
            io::copy(client, server)?;
            return Ok(());
        }
        let fault = if length > 0 {
            let nth = shared.bodies.fetch_add(1, Ordering::SeqCst) + 1;
            shared.faults.lock().unwrap().remove(&nth)
        } else {
            None
        };
        let mut sent = 0u64;
        while sent < length {
            if pending.is_empty() {
                let n = client.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                pending.extend_from_slice(&buf[..n]);
            }
            let take = (length - sent).min(pending.len() as u64) as usize;
            let mut piece: Vec<u8> = pending.drain(..take).collect();
            match fault {
                Some(BodyFault::Corrupt { at }) if (sent..sent + take as u64).contains(&at) => {
                    piece[(at - sent) as usize] ^= 0xff;
                    shared.applied.fetch_add(1, Ordering::SeqCst);
                }
                Some(BodyFault::Cut { after }) if sent + take as u64 > after => {
                    let keep = (after - sent) as usize;
                    server.write_all(&piece[..keep])?;
                    shared.applied.fetch_add(1, Ordering::SeqCst);
                    return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "cut"));
                }
                _ => {}
            }
            server.write_all(&piece)?;
            sent += take as u64;
            let rate = shared.rate.load(Ordering::SeqCst);
            if rate > 0 {
                thread::sleep(std::time::Duration::from_secs_f64(
                    take as f64 / rate as f64,
                ));
            }
        }
    }
}
