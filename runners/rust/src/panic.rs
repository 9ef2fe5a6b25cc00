//! Panics in processors become `failed` messages with the panic's message, location and backtrace.
//!
//! `catch_unwind` only yields the payload, which has neither location nor backtrace; the panic hook, which
//! runs on the panicking thread before unwinding, records both in a thread-local, and the processor's task
//! (which catches the unwind on that same thread, in the same poll) picks them up.

use std::any::Any;
use std::backtrace::Backtrace;
use std::cell::RefCell;
use std::sync::Once;

use crate::logging;

/// What a processor's panic is reported as.
pub(crate) struct PanicReport {
    pub(crate) message: String,
    pub(crate) stack: Option<String>,
}

thread_local! {
    static LAST: RefCell<Option<PanicReport>> = const { RefCell::new(None) };
}

/// Installs the hook once per process. Panics outside processors still reach the previous hook (stderr).
pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if logging::current_processor().is_none() {
                previous(info);
                return;
            }
            let location = info.location().map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()));
            let report = PanicReport {
                message: format!("panicked{}: {}", location.unwrap_or_default(), payload_text(info.payload())),
                stack: Some(Backtrace::force_capture().to_string()),
            };
            LAST.with(|last| *last.borrow_mut() = Some(report));
        }));
    });
}

/// The report for a panic just caught on this thread, from the hook if it ran, else from the payload.
pub(crate) fn caught(payload: Box<dyn Any + Send>) -> PanicReport {
    LAST.with(|last| last.borrow_mut().take())
        .unwrap_or_else(|| PanicReport { message: format!("panicked: {}", payload_text(&*payload)), stack: None })
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic payload that is not a string)".to_owned()
    }
}
