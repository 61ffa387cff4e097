#![no_main]

// Counted, so the target fails on an allocation beyond its bound even where
// the block is never touched (and RSS, which libFuzzer watches, stays low).
#[global_allocator]
static ALLOCATOR: atelier_fuzz::Counting = atelier_fuzz::Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    atelier_fuzz::check("events", data);
});
