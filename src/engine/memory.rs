//! Memory the engine freed, given back to the operating system.
//!
//! A sync at site scale reads both listings, builds the plan and its
//! stored JSON, and frees most of it again; glibc's allocator keeps what
//! was freed in its arenas (one per thread that allocated), so the
//! process stays at its peak although the live set is far smaller.
//! `malloc_trim` returns the free pages of every arena.

/// Give freed heap memory back to the operating system (glibc on Linux;
/// elsewhere nothing to do).
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only walks glibc's own
    // heap structures under their locks; any thread may call it any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
