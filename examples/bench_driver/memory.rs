//! Where a process's resident memory goes, for item 5's breakdown.
//!
//! RSS alone cannot tell a cost per session from a bounded cache that is
//! still filling, so the heartbeat item also reads three accounts at each of
//! its points: the Rust heap in live bytes (this driver's global allocator
//! counts them, only while [`enable`] is on, so the timing items pay one
//! relaxed load per allocation), SQLite's own allocations
//! (`sqlite3_memory_used`: its page cache, statements, schema; `null` in a
//! build without SQLite's memory statistics, which this checkout's
//! `.cargo/config.toml` turns off: SQLite's bytes are then inside glibc's
//! count and not told apart) and glibc's
//! view of the C heap (`mallinfo2`: bytes in use and bytes held free inside
//! the arenas). What RSS has beyond those is stacks, code and mapped files.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

use serde_json::{json, Value};

/// The system allocator, counting live bytes while enabled.
pub struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counter is
// bookkeeping only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if ON.load(Ordering::Relaxed) && !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        if ON.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if ON.load(Ordering::Relaxed) && !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if ON.load(Ordering::Relaxed) && !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

/// Starts counting. Only differences between two readings mean anything
/// (what was freed before counting started is subtracted when freed).
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    /// glibc's `struct mallinfo2`.
    #[repr(C)]
    #[derive(Default)]
    pub struct MallInfo2 {
        pub arena: usize,
        pub ordblks: usize,
        pub smblks: usize,
        pub hblks: usize,
        pub hblkhd: usize,
        pub usmblks: usize,
        pub fsmblks: usize,
        pub uordblks: usize,
        pub fordblks: usize,
        pub keepcost: usize,
    }
    extern "C" {
        pub fn mallinfo2() -> MallInfo2;
    }
}

/// One reading of every account, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub rss: i64,
    pub rust_heap: i64,
    /// `None` when SQLite keeps no memory statistics.
    pub sqlite: Option<i64>,
    /// glibc: bytes handed out (arenas + mmapped chunks).
    pub malloc_used: i64,
    /// glibc: free bytes kept inside the arenas.
    pub malloc_free: i64,
    /// RSS split by kind (`RssAnon`, `RssFile`, `RssShmem`).
    pub rss_anon: i64,
    pub rss_file: i64,
    pub rss_shmem: i64,
    /// Threads of the process (each has a stack).
    pub threads: i64,
}

fn kib(field: &str) -> i64 {
    crate::common::status_kib(field) as i64 * 1024
}

/// Reads every account now.
pub fn read() -> Reading {
    // SAFETY: a plain getter of SQLite's global counter, and a lookup of a
    // NUL-terminated literal in its compile options.
    let sqlite = unsafe {
        let off = rusqlite::ffi::sqlite3_compileoption_used(c"DEFAULT_MEMSTATUS=0".as_ptr()) != 0;
        (!off).then(|| rusqlite::ffi::sqlite3_memory_used())
    };
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: glibc fills and returns the struct by value.
    let (used, free) = {
        let m = unsafe { glibc::mallinfo2() };
        ((m.uordblks + m.hblkhd) as i64, m.fordblks as i64)
    };
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let (used, free) = (0, 0);
    Reading {
        rss: crate::common::status_kib("VmRSS") as i64 * 1024,
        rust_heap: LIVE.load(Ordering::Relaxed) as i64,
        sqlite,
        malloc_used: used,
        malloc_free: free,
        rss_anon: kib("RssAnon"),
        rss_file: kib("RssFile"),
        rss_shmem: kib("RssShmem"),
        threads: crate::common::status_kib("Threads") as i64,
    }
}

/// Per-session bytes of each account between two readings over `n` sessions.
pub fn per_session(a: Reading, b: Reading, n: usize) -> Value {
    let per = |x: i64, y: i64| ((y - x) as f64 / n as f64).round();
    let rss = per(a.rss, b.rss);
    let heap = per(a.rust_heap, b.rust_heap);
    let sqlite = a.sqlite.zip(b.sqlite).map(|(x, y)| per(x, y));
    json!({
        "rss": rss,
        "rust_heap": heap,
        "sqlite": sqlite,
        "malloc_used": per(a.malloc_used, b.malloc_used),
        "malloc_free": per(a.malloc_free, b.malloc_free),
        "rss_not_heap_or_sqlite": sqlite.map(|s| rss - heap - s),
        "rss_anon": per(a.rss_anon, b.rss_anon),
        "rss_file": per(a.rss_file, b.rss_file),
        "rss_shmem": per(a.rss_shmem, b.rss_shmem),
        "threads_added": b.threads - a.threads,
    })
}
