//! A hidden test hook: `MLGATE_TEST_PAUSE_AT=<point>` makes the process announce
//! `mlgate-test-pause: <point>` on stderr when it reaches that point and then sleep
//! (`MLGATE_TEST_PAUSE_MS`, default 60 s), so the crash tests can SIGKILL it at a known
//! moment instead of hoping a random kill lands in the window that matters.
//!
//! Points: `artifact-written` (temporary copy complete, not yet renamed into the store),
//! `artifact-stored` (artifact in place, no row yet), `build-inserted` (row inserted inside
//! the open transaction, not committed).

use std::io::Write;

pub fn pause(point: &str) {
    let Some(at) = std::env::var_os("MLGATE_TEST_PAUSE_AT") else {
        return;
    };
    if at != point {
        return;
    }
    let ms = std::env::var("MLGATE_TEST_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60_000);
    let mut err = std::io::stderr();
    let _ = writeln!(err, "mlgate-test-pause: {point}");
    let _ = err.flush();
    std::thread::sleep(std::time::Duration::from_millis(ms));
}
