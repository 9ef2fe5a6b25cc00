//! `riffle-runner-rust`: the bundled Rust runner, with the built-in processors and those of the conformance
//! kit (`riffle conformance rust`).

fn main() {
    let mut registry = riffle_runner::Registry::builtin();
    riffle_runner::conformance::register(&mut registry);
    riffle_runner::run(registry)
}
