//! Bytes both ways between the guest and its destination, counted against
//! the run's budgets, and cut when the connection sits idle too long.

use crate::budget::Budgets;
use crate::refusal::Refusal;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How a relay ended, with what it carried.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Relayed {
    /// Bytes from the guest to the destination.
    pub out: u64,
    /// Bytes from the destination to the guest.
    pub inward: u64,
    /// Why it stopped early: a budget, or the idle timeout (`None` when
    /// both sides closed, or one failed).
    pub cut: Option<Refusal>,
}

/// Copies both ways until both sides have closed, a budget is spent, or
/// nothing has moved for `idle`.
pub(crate) async fn relay<G, D>(guest: G, destination: D, budgets: &Budgets, idle: Duration) -> Relayed
where
    G: AsyncRead + AsyncWrite + Unpin,
    D: AsyncRead + AsyncWrite + Unpin,
{
    let (mut guest_read, mut guest_write) = tokio::io::split(guest);
    let (mut dest_read, mut dest_write) = tokio::io::split(destination);
    let mut relayed = Relayed::default();
    let (mut up, mut down) = (vec![0u8; 16 << 10], vec![0u8; 16 << 10]);
    let (mut guest_open, mut dest_open) = (true, true);
    while guest_open || dest_open {
        let step = tokio::time::timeout(idle, async {
            tokio::select! {
                read = guest_read.read(&mut up), if guest_open => (true, read),
                read = dest_read.read(&mut down), if dest_open => (false, read),
            }
        });
        let Ok((upward, read)) = step.await else {
            relayed.cut = Some(Refusal::Idle { ms: idle.as_millis().try_into().unwrap_or(u64::MAX) });
            break;
        };
        let n = match read {
            Ok(0) | Err(_) => {
                // One side is done sending: pass the end on, keep the other way.
                if upward {
                    guest_open = false;
                    let _ = dest_write.shutdown().await;
                } else {
                    dest_open = false;
                    let _ = guest_write.shutdown().await;
                }
                continue;
            }
            Ok(n) => n,
        };
        let counted = if upward { budgets.take_out(n as u64) } else { budgets.take_in(n as u64) };
        if let Err(refusal) = counted {
            relayed.cut = Some(refusal);
            break;
        }
        let written = if upward {
            relayed.out += n as u64;
            dest_write.write_all(&up[..n]).await
        } else {
            relayed.inward += n as u64;
            guest_write.write_all(&down[..n]).await
        };
        if written.is_err() {
            break;
        }
    }
    relayed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_that_sits_idle_is_cut_and_says_by_what() {
        let (guest, _guest_end) = tokio::io::duplex(1024);
        let (destination, _destination_end) = tokio::io::duplex(1024);
        let budgets = Budgets::new(&stockade_policy::NetworkPolicy::default());
        let relayed = relay(guest, destination, &budgets, Duration::from_millis(50)).await;
        assert_eq!(relayed.cut, Some(Refusal::Idle { ms: 50 }));
        assert_eq!(relayed.cut.as_ref().map(Refusal::rule).as_deref(), Some("network.idle_timeout_ms"));
    }
}
