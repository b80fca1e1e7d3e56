//! The venture-wide blocks of a `/sos` answer, kept once per venture.
//!
//! A v2 server sends every session start the venture's documentation audit
//! (and, when asked or when there are any, its document index or bundle and
//! its two lists of notes). They describe the venture, not the session, so
//! every session of a venture receives the same blocks. A session handle
//! keeps its `/sos` answer for [`SessionHandle::start_response`]
//! (super::SessionHandle::start_response), and a process holding thousands
//! of handles kept thousands of copies: the audit alone is ~4 KiB in memory,
//! twice the whole budget of a live session (`BENCHMARKS.md`, item 5).
//!
//! So the engine keeps, per venture, a weak reference to the blocks the
//! last start received; a start whose blocks are equal to them shares that
//! copy, one whose blocks differ (the docs changed) gets its own and
//! becomes the copy later starts share. A handle still returns exactly what
//! its own answer held: sharing happens only between equal values. The map
//! holds no blocks alive by itself, and entries whose blocks are gone are
//! removed whenever a new copy is recorded, so it stays as small as the set
//! of ventures with live handles.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use crate::model::{DocAudit, Documentation, NoteBlock, StartSessionResponse};

/// The parts of a `/sos` answer that are the same for every session of a
/// venture.
#[derive(Debug, PartialEq)]
pub(crate) struct VentureBlocks {
    pub(crate) documentation: Option<Documentation>,
    pub(crate) doc_index: Option<Documentation>,
    pub(crate) doc_audit: Option<DocAudit>,
    pub(crate) enterprise_context: Option<NoteBlock>,
    pub(crate) knowledge_base: Option<NoteBlock>,
}

impl VentureBlocks {
    /// Takes the venture-wide blocks out of an answer; `None` when it has
    /// none (a v1 server asked without docs).
    pub(crate) fn take(resp: &mut StartSessionResponse) -> Option<Self> {
        let blocks = Self {
            documentation: resp.documentation.take(),
            doc_index: resp.doc_index.take(),
            doc_audit: resp.doc_audit.take(),
            enterprise_context: resp.enterprise_context.take(),
            knowledge_base: resp.knowledge_base.take(),
        };
        let empty = blocks.documentation.is_none()
            && blocks.doc_index.is_none()
            && blocks.doc_audit.is_none()
            && blocks.enterprise_context.is_none()
            && blocks.knowledge_base.is_none();
        (!empty).then_some(blocks)
    }
}

/// One shared copy of each venture's current blocks (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct SharedBlocks {
    by_venture: Mutex<HashMap<String, Weak<VentureBlocks>>>,
}

impl SharedBlocks {
    /// The shared copy of `blocks` for `venture`: the one already held by
    /// other handles when equal, else `blocks` itself, recorded as the copy
    /// later starts of the venture share.
    pub(crate) fn share(&self, venture: &str, blocks: VentureBlocks) -> Arc<VentureBlocks> {
        // A panic elsewhere while the map was locked leaves it consistent
        // (each step below is a single map operation).
        let mut map = self
            .by_venture
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = map.get(venture).and_then(Weak::upgrade) {
            if *known == blocks {
                return known;
            }
        }
        let fresh = Arc::new(blocks);
        map.retain(|_, held| held.strong_count() > 0);
        map.insert(venture.to_owned(), Arc::downgrade(&fresh));
        fresh
    }

    /// How many ventures have a recorded copy (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_venture
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit(summary: &str) -> VentureBlocks {
        VentureBlocks {
            documentation: None,
            doc_index: None,
            doc_audit: Some(DocAudit {
                venture: Some("vc".into()),
                venture_name: Some("Venture Crane".into()),
                status: Some("incomplete".into()),
                missing: Vec::new(),
                stale: Vec::new(),
                present: Vec::new(),
                summary: Some(summary.into()),
            }),
            enterprise_context: None,
            knowledge_base: None,
        }
    }

    #[test]
    fn equal_blocks_of_a_venture_are_one_copy() {
        let shared = SharedBlocks::default();
        let a = shared.share("vc", audit("7 missing"));
        let b = shared.share("vc", audit("7 missing"));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(Arc::strong_count(&a), 2);
    }

    #[test]
    fn changed_blocks_are_kept_as_received_and_shared_from_then_on() {
        let shared = SharedBlocks::default();
        let old = shared.share("vc", audit("7 missing"));
        let new = shared.share("vc", audit("6 missing"));
        assert!(!Arc::ptr_eq(&old, &new));
        assert_eq!(
            old.doc_audit.as_ref().unwrap().summary.as_deref(),
            Some("7 missing")
        );
        assert_eq!(
            new.doc_audit.as_ref().unwrap().summary.as_deref(),
            Some("6 missing")
        );
        let later = shared.share("vc", audit("6 missing"));
        assert!(Arc::ptr_eq(&new, &later));
    }

    #[test]
    fn ventures_do_not_share_and_dropped_copies_leave_the_map() {
        let shared = SharedBlocks::default();
        let vc = shared.share("vc", audit("7 missing"));
        let other = shared.share("ke", audit("7 missing"));
        assert!(!Arc::ptr_eq(&vc, &other));
        assert_eq!(shared.len(), 2);
        drop(vc);
        drop(other);
        let _third = shared.share("dfg", audit("7 missing"));
        assert_eq!(shared.len(), 1);
    }
}
