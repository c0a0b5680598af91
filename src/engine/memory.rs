//! Memory the engine freed, given back to the operating system.
//!
//! A sync at site scale reads both listings, builds the plan and its
//! stored JSON, and frees most of it again; glibc's allocator keeps what
//! was freed in its arenas (one per thread that allocated), so the
//! process stays at its peak although the live set is far smaller.
//! `malloc_trim` returns the free pages of every arena.

/// Give freed heap memory back to the operating system (glibc on Linux;
/// elsewhere nothing to do). Trimming a heap of hundreds of MB can take
/// tens of milliseconds: inside the engine's runtime it runs on a blocking
/// thread, so the booking reader and sender on the runtime's few workers
/// are not held up; the caller does not wait for it.
pub fn release_freed() {
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => drop(rt.spawn_blocking(trim)),
        Err(_) => trim(),
    }
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only walks glibc's own
    // heap structures under their locks; any thread may call it any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
