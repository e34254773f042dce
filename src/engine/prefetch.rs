//! A hint to the CPU that memory will be read soon. It changes no value, only when a cache
//! line arrives: a large fleet's run spends most of its time waiting for the first touch of
//! each client's state, which the event a few pops ahead names early enough to fetch.

const LINE: usize = 64;

/// Asks for the cache lines `value` spans. A no-op where the target has no prefetch
/// instruction.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let start = (value as *const T).cast::<i8>();
        // A value need not start on a line: count the lines its bytes touch.
        let offset = start as usize % LINE;
        let lines = (offset + size_of::<T>().max(1)).div_ceil(LINE);
        let first_line = start.wrapping_sub(offset);
        for line in 0..lines {
            // SAFETY: SSE is part of every x86_64 target, and a prefetch never faults or
            // changes memory, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(first_line.wrapping_add(line * LINE)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
