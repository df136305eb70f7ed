//! `--events-out`: every record as one JSON line, written by a thread of its own.
//!
//! Why a thread: a `write` system call per record cost about 5% of a signed Encrypt's CPU
//! (`scripts/bench` profile). Calls now append their lines to a buffer, in history order (the
//! recorder holds its order lock while appending), and the writer thread writes whatever has
//! gathered with one `write` and one `flush`. Woken by the first line after a quiet spell, it
//! lets lines gather for [`GATHER`] before writing, so under load it wakes a few hundred times a
//! second, not once per record (waking it per record cost more than the writes it saved).
//! A call's response does not wait for its line. [`EventsOut::flush`] waits until everything
//! appended so far is written; the control API's `GET /_keytrail/events` and shutdown call it, so
//! whatever a client has seen in history is in the file too.
//! A slow reader of the output (a pipe) holds calls back once 8 MiB are waiting, rather than
//! letting the buffer grow without bound.
//!
//! The file mirrors the history: [`EventsOut::truncate`] (a reset) drops what is still waiting
//! and empties the file before it returns, so a harness counting lines never sees a record the
//! history no longer holds.

use std::io::Write;
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

/// Bytes waiting past which appending blocks until the writer catches up.
const MAX_PENDING_BYTES: usize = 8 << 20;
/// How long the writer lets lines gather once woken; also the most a line waits when idle.
pub const GATHER: std::time::Duration = std::time::Duration::from_millis(2);

/// Where `--events-out` lines go: a file (which a reset empties) or a stream (stdout), which
/// cannot take back what it printed.
pub trait EventsWriter: Write + Send {
    /// Empties the output, after writing out anything buffered; a stream does nothing.
    fn truncate(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl EventsWriter for std::io::Stdout {}

impl EventsWriter for std::io::BufWriter<std::fs::File> {
    fn truncate(&mut self) -> std::io::Result<()> {
        self.flush()?;
        // The file is opened for appending: after this the next line lands at offset 0.
        self.get_ref().set_len(0)
    }
}

/// The handle the recorder appends through; the thread stops when it is dropped.
pub struct EventsOut {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the writer (something to write, or stop).
    work: Condvar,
    /// Wakes callers waiting for bytes to be written (`flush`, a full buffer).
    written: Condvar,
}

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    /// Bytes appended since start, and bytes written out (and flushed) since start.
    appended: u64,
    flushed: u64,
    stop: bool,
    /// The writer is asleep waiting for lines: the next append must wake it.
    idle: bool,
    /// A `flush` is waiting: write now, without gathering.
    urgent: bool,
    /// A reset asked for the output to be emptied; cleared (and `written` notified) once done.
    truncate: bool,
}

impl EventsOut {
    /// Starts the writer thread over `out`.
    pub fn start(mut out: Box<dyn EventsWriter>) -> EventsOut {
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), work: Condvar::new(), written: Condvar::new() });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("keytrail-events-out".into())
                .spawn(move || shared.write_loop(&mut *out))
                .expect("cannot start the --events-out writer thread")
        };
        EventsOut { shared, thread: Some(thread) }
    }

    /// Queues each of `records` followed by `end` (a record's JSON and its newline), copied
    /// straight into the queue: no line is assembled elsewhere first. Blocks only while 8 MiB
    /// are waiting.
    pub fn append_lines<'a>(&self, records: impl Iterator<Item = &'a [u8]>, end: &[u8]) {
        let mut state = self.shared.state.lock();
        while state.pending.len() >= MAX_PENDING_BYTES && !state.stop {
            self.shared.written.wait(&mut state);
        }
        let before = state.pending.len();
        for record in records {
            state.pending.extend_from_slice(record);
            state.pending.extend_from_slice(end);
        }
        state.appended += (state.pending.len() - before) as u64;
        if state.idle {
            state.idle = false;
            drop(state);
            self.shared.work.notify_one();
        }
    }

    /// Drops every line still waiting and empties the output; returns once it is empty. Callers
    /// hold the recorder's order lock, so no line is appended meanwhile.
    pub fn truncate(&self) {
        let mut state = self.shared.state.lock();
        let dropped = state.pending.len() as u64;
        state.pending.clear();
        state.flushed += dropped;
        state.truncate = true;
        state.urgent = true;
        self.shared.work.notify_one();
        while state.truncate && !state.stop {
            self.shared.written.wait(&mut state);
        }
    }

    /// Returns once everything appended before the call is written and flushed.
    pub fn flush(&self) {
        let mut state = self.shared.state.lock();
        let target = state.appended;
        state.urgent = true;
        self.shared.work.notify_one();
        while state.flushed < target && !state.stop {
            self.shared.written.wait(&mut state);
        }
    }
}

impl Drop for EventsOut {
    fn drop(&mut self) {
        self.flush();
        self.shared.state.lock().stop = true;
        self.shared.work.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Shared {
    fn write_loop(&self, out: &mut dyn EventsWriter) {
        let mut batch = Vec::new();
        loop {
            {
                let mut state = self.state.lock();
                while state.pending.is_empty() && !state.stop && !state.truncate {
                    state.idle = true;
                    self.work.wait(&mut state);
                }
                state.idle = false;
                if state.truncate {
                    // Under the lock: nothing is appended before the output is empty.
                    if let Err(err) = out.truncate() {
                        tracing::error!(%err, "could not empty --events-out");
                    }
                    state.truncate = false;
                    self.written.notify_all();
                    continue;
                }
                if state.pending.is_empty() && state.stop {
                    return;
                }
                if !state.urgent && !state.stop {
                    self.work.wait_for(&mut state, GATHER);
                }
                state.urgent = false;
                std::mem::swap(&mut batch, &mut state.pending);
            }
            // Written outside the lock, so calls keep appending meanwhile.
            if let Err(err) = out.write_all(&batch).and_then(|_| out.flush()) {
                tracing::error!(%err, "could not write to --events-out");
            }
            let len = batch.len() as u64;
            batch.clear();
            // Don't keep a huge buffer around after a burst.
            if batch.capacity() > MAX_PENDING_BYTES {
                batch = Vec::new();
            }
            self.state.lock().flushed += len;
            self.written.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose bytes the test can read back, slowed down so appends pile up.
    #[derive(Clone, Default)]
    struct Slow(Arc<Mutex<(Vec<u8>, usize)>>);

    impl EventsWriter for Slow {
        fn truncate(&mut self) -> std::io::Result<()> {
            self.0.lock().0.clear();
            Ok(())
        }
    }

    impl Write for Slow {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            std::thread::sleep(std::time::Duration::from_millis(1));
            let mut g = self.0.lock();
            g.0.extend_from_slice(buf);
            g.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_in_order_in_fewer_writes() {
        let sink = Slow::default();
        let out = EventsOut::start(Box::new(sink.clone()));
        for i in 0..2000 {
            out.append_lines(std::iter::once(i.to_string().as_bytes()), b"\n");
        }
        out.flush();
        let (bytes, writes) = sink.0.lock().clone();
        let text = String::from_utf8(bytes).unwrap();
        let got: Vec<usize> = text.lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(got, (0..2000).collect::<Vec<_>>(), "all lines, in order, once flush returns");
        assert!(writes < 2000, "appends that gathered while a write was in progress share a write ({writes} writes)");
    }

    #[test]
    fn truncate_empties_the_output_and_drops_what_waits() {
        let sink = Slow::default();
        let out = EventsOut::start(Box::new(sink.clone()));
        for i in 0..200 {
            out.append_lines(std::iter::once(i.to_string().as_bytes()), b"\n");
        }
        out.truncate();
        assert!(sink.0.lock().0.is_empty(), "empty once truncate returns");
        out.append_lines(std::iter::once(&b"after"[..]), b"\n");
        out.flush();
        assert_eq!(sink.0.lock().0, b"after\n");
    }

    #[test]
    fn drop_writes_what_is_pending() {
        let sink = Slow::default();
        let out = EventsOut::start(Box::new(sink.clone()));
        out.append_lines(std::iter::once(&b"a"[..]), b"\n");
        out.append_lines(std::iter::once(&b"b"[..]), b"\n");
        drop(out);
        assert_eq!(sink.0.lock().0, b"a\nb\n");
    }
}
