//! The JSON Lines reporter: one event object per line on stdout, flushed as it happens, so a
//! consumer sees progress live.

use std::io::Write;

use crate::event::Event;

pub(super) fn event(e: &Event) {
    // Progress ticks would flood a log; a consumer gets the start and the end of each pull.
    if matches!(e, Event::ImagePullProgress { .. }) {
        return;
    }
    if let Ok(line) = serde_json::to_string(e) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}
