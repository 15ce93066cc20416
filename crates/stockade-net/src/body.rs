//! Bodies counted against the run's budgets as they stream, and the tally
//! of one request that becomes its audit record when it is done.

use crate::destination::Destination;
use crate::engine::Inner;
use crate::event::NetEvent;
use crate::proxy::BoxError;
use crate::refusal::{Failed, Refusal};
use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// One request's (or tunnel's) record in the making: shared by its two
/// bodies, written to the audit log when the last of them is dropped.
#[derive(Clone)]
pub(crate) struct Tally(Arc<Mutex<TallyState>>);

struct TallyState {
    engine: Arc<Inner>,
    destination: String,
    method: String,
    rule: usize,
    out: u64,
    inward: u64,
    /// Refused before anything went out (a tunnel's ClientHello).
    refusal: Option<Refusal>,
    /// Stopped part way (a budget, the idle timeout).
    cut: Option<Refusal>,
    /// What happened to the secrets it carried.
    secrets: Vec<String>,
}

impl Tally {
    pub fn new(engine: Arc<Inner>, destination: &Destination, method: &str) -> Tally {
        Tally(Arc::new(Mutex::new(TallyState {
            engine,
            destination: destination.authority(),
            method: method.to_string(),
            rule: destination.rule,
            out: 0,
            inward: 0,
            refusal: None,
            cut: None,
            secrets: Vec::new(),
        })))
    }

    fn with<T>(&self, f: impl FnOnce(&mut TallyState) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Counts bytes each way.
    pub fn add(&mut self, out: u64, inward: u64) {
        self.with(|state| {
            state.out += out;
            state.inward += inward;
        });
    }

    /// Notes what happened to the secrets the request carried.
    pub fn note(&mut self, secrets: Vec<String>) {
        self.with(|state| state.secrets.extend(secrets));
    }

    /// Marks the request refused: it is recorded as a refusal, not as sent.
    pub fn refuse(self, refusal: Refusal) {
        self.with(|state| state.refusal = Some(refusal));
    }

    /// Marks the request refused part way (after its tally began): it is
    /// recorded as `refusal`, with what it had counted and the secrets'
    /// notes, and its caller records nothing more.
    pub fn fail(self, refusal: Refusal) -> Failed {
        self.with(|state| state.refusal = Some(refusal.clone()));
        Failed { refusal, recorded: true }
    }

    /// Marks the request stopped part way by `why`.
    pub fn cut(&mut self, why: Refusal) {
        self.with(|state| {
            state.cut.get_or_insert(why);
        });
    }
}

impl Drop for TallyState {
    fn drop(&mut self) {
        if !self.engine.records() {
            return;
        }
        let event = |allowed, rule, bytes_out, bytes_in| NetEvent {
            destination: self.destination.clone(),
            method: self.method.clone(),
            allowed,
            rule,
            bytes_out,
            bytes_in,
            secrets: self.secrets.clone(),
        };
        match &self.refusal {
            Some(refusal) => self.engine.record(event(false, refusal.rule(), self.out, self.inward)),
            None => self.engine.record(event(
                true,
                format!("network.allow[{}]", self.rule),
                self.out,
                self.inward,
            )),
        }
        if let Some(cut) = &self.cut {
            self.engine.record(event(false, cut.rule(), 0, 0));
        }
    }
}

/// Which way a body goes, and so which budget it counts against.
#[derive(Clone, Copy)]
enum Way {
    Out,
    In,
}

/// A body whose data frames are counted, and cut off when the run's budget
/// for that way is spent.
pub(crate) struct Counted<B> {
    inner: B,
    engine: Arc<Inner>,
    tally: Tally,
    way: Way,
}

impl<B> Counted<B> {
    /// A request body, the guest's, going to the destination.
    pub fn outward(inner: B, engine: Arc<Inner>, tally: Tally) -> Counted<B> {
        Counted { inner, engine, tally, way: Way::Out }
    }

    /// A response body, the destination's, coming to the guest.
    pub fn inward(inner: B, engine: Arc<Inner>, tally: Tally) -> Counted<B> {
        Counted { inner, engine, tally, way: Way::In }
    }
}

impl<B> Body for Counted<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        // Trailers count as their bytes on the wire, as a body's data does.
        let size = match (frame.data_ref(), frame.trailers_ref()) {
            (Some(data), _) => Some(data.len() as u64),
            (None, Some(trailers)) => Some(crate::exchange::head_bytes(0, trailers)),
            (None, None) => None,
        };
        if let Some(n) = size {
            let taken = match this.way {
                Way::Out => this.engine.budgets.take_out(n),
                Way::In => this.engine.budgets.take_in(n),
            };
            if let Err(refusal) = taken {
                this.tally.cut(refusal.clone());
                return Poll::Ready(Some(Err(Box::new(refusal))));
            }
            match this.way {
                Way::Out => this.tally.add(n, 0),
                Way::In => this.tally.add(0, n),
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An answer to a request that carried a secret, with every copy of a real
/// value turned back into its placeholder. It holds back the last bytes,
/// one short of the longest value, until the next bytes (or the end) show
/// whether a value runs across the boundary.
pub(crate) struct Redacted<B> {
    inner: B,
    engine: Arc<Inner>,
    held: Vec<u8>,
    trailers: Option<hyper::HeaderMap>,
    ended: bool,
}

impl<B> Redacted<B> {
    pub fn new(inner: B, engine: Arc<Inner>) -> Redacted<B> {
        Redacted { inner, engine, held: Vec::new(), trailers: None, ended: false }
    }
}

impl<B> Body for Redacted<B>
where
    B: Body<Data = Bytes, Error = BoxError> + Unpin,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if this.ended {
                if !this.held.is_empty() {
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from(std::mem::take(&mut this.held))))));
                }
                return Poll::Ready(this.trailers.take().map(|trailers| Ok(Frame::trailers(trailers))));
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        this.held.extend_from_slice(&data);
                        this.engine.secrets.redact(&mut this.held);
                        let keep = this.engine.secrets.longest().saturating_sub(1);
                        if this.held.len() > keep {
                            let rest = this.held.split_off(this.held.len() - keep);
                            let ready = std::mem::replace(&mut this.held, rest);
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(ready)))));
                        }
                    }
                    Err(frame) => {
                        if let Ok(mut trailers) = frame.into_trailers() {
                            this.engine.secrets.redact_headers(&mut trailers);
                            this.trailers = Some(trailers);
                        }
                        this.ended = true;
                    }
                },
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => this.ended = true,
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.held.is_empty() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        // A placeholder is as long as its value: the length is unchanged.
        self.inner.size_hint()
    }
}
