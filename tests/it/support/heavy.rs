//! Tests that load the machine on their own — a crowd of customers, hundreds
//! of calls at once on two instances, a thousand watchers, the bench — take
//! a permit first, so that only a few of them run at a time while the light
//! tests run alongside. Each holds dozens of PostgreSQL connections and much
//! of the CPU: too many at once would starve each other (and the light
//! tests) past the bounds they assert.

use tokio::sync::{Semaphore, SemaphorePermit};

/// How many heavy tests may run at once.
const AT_ONCE: usize = 2;

static HEAVY: Semaphore = Semaphore::const_new(AT_ONCE);

/// Waits for a turn to run a heavy test; the turn ends when the permit is dropped.
pub async fn heavy() -> SemaphorePermit<'static> {
    HEAVY
        .acquire()
        .await
        .expect("the semaphore is never closed")
}
