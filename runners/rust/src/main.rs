//! `riffle-runner-rust`: the bundled Rust runner, with the built-in processors.

fn main() {
    riffle_runner::run(riffle_runner::Registry::builtin())
}
