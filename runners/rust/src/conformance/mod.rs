//! The processors `riffle conformance` asks of every runner (`docs/adding-a-runner.md`, section 8), in Rust.
//! `rcf:Echo` is the built-in [`PassThrough`](crate::builtin::PassThrough); the others are here. They are
//! declared in `runners/rust/conformance.ttl`, which only the kit's pipelines import. A runner binary of your
//! own passes the kit too when it calls [`register`].

mod arguments;
mod crash;
mod fail;
mod slow;

pub use arguments::Arguments;
pub use crash::Crash;
pub use fail::Fail;
pub use slow::Slow;

use crate::Registry;

/// Adds the conformance processors under the class names `runners/rust/conformance.ttl` gives them.
pub fn register(registry: &mut Registry) -> &mut Registry {
    registry
        .register::<Arguments>("ConformanceArguments")
        .register::<Slow>("ConformanceSlow")
        .register::<Fail>("ConformanceFail")
        .register::<Crash>("ConformanceCrash")
}
