//! `my-rust-runner`: a Riffle runner with the built-in processors and `Reverse`.

fn main() {
    riffle_runner::run(riffle_runner::Registry::builtin().with::<riffle_example_processors::Reverse>("Reverse"))
}
