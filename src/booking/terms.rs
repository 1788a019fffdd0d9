//! The terms of each session (every seat with its kind, price and pair),
//! read once per instance: a published session never changes them.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::{
    domain::{Error, Result, SessionTerms},
    store::{self, Db},
};

/// How many sessions' terms are kept before the cache starts over: a
/// session's terms hold every seat (up to 1,560), so a full cache is about
/// 100 MB at worst, and far more sessions than are on sale at once.
const ENTRIES: usize = 1_000;

/// Sessions' terms by id. Callers asking at once for a session not read yet
/// share one query (a stampede does not become a burst of reads); the map is
/// emptied when it grows past its bound, which only costs re-reads.
#[derive(Default)]
pub struct TermsCache(Mutex<HashMap<Uuid, Arc<OnceCell<SessionTerms>>>>);

impl TermsCache {
    /// The terms of `session_id`, or NOT_FOUND.
    pub async fn get(&self, db: &Db, session_id: Uuid) -> Result<SessionTerms> {
        let cell = self.cell(session_id);
        let terms = cell
            .get_or_try_init(|| async {
                store::sessions::terms(db, session_id)
                    .await?
                    .ok_or_else(|| Error::not_found("session", session_id))
            })
            .await?;
        Ok(terms.clone())
    }

    fn cell(&self, session_id: Uuid) -> Arc<OnceCell<SessionTerms>> {
        let mut cells = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cells.len() >= ENTRIES && !cells.contains_key(&session_id) {
            cells.clear();
        }
        Arc::clone(cells.entry(session_id).or_default())
    }
}
