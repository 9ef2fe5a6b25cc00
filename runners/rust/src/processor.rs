//! The processor lifecycle: what a processor implements, and the object-safe form the runtime drives.

use std::future::Future;
use std::pin::Pin;

use crate::ProcessorError;

/// A processor: a struct built from its arguments with serde, initialised, then run.
///
/// The runtime deserialises the struct from the processor's JSON arguments (its `Reader` and `Writer` fields
/// become live channel ends), calls [`init`](Processor::init) on every processor of the pipeline, and once
/// all of them, in every runner, have succeeded, calls [`run`](Processor::run) on all of them concurrently.
///
/// # Why one `run` and not RDF-Connect's `transform` and `produce`
///
/// RDF-Connect's JavaScript processors have a `transform` (consume the readers) and a `produce` (generate
/// output) that run at the same time on the same object. In Rust two methods cannot both hold `&mut self` at
/// once, and giving them `&self` would force every reader and writer behind a lock. So a processor has a
/// single `run(self)` that owns everything; one that really does both at once splits its own fields inside
/// `run` and joins the two halves, which the borrow checker accepts without any lock:
///
/// ```
/// use riffle_runner::{Processor, ProcessorError, Reader, Writer};
///
/// #[derive(serde::Deserialize)]
/// struct EchoAndTick {
///     input: Reader,
///     echo: Writer,
///     ticks: Writer,
/// }
///
/// impl Processor for EchoAndTick {
///     async fn run(self) -> Result<(), ProcessorError> {
///         let EchoAndTick { mut input, mut echo, mut ticks } = self;
///         let transform = async move {
///             while let Some(message) = input.recv().await {
///                 echo.send(message?).await?;
///             }
///             echo.close().await?;
///             Ok::<_, ProcessorError>(())
///         };
///         let produce = async move {
///             for i in 0..3 {
///                 ticks.send_text(format!("tick {i}")).await?;
///             }
///             ticks.close().await?;
///             Ok::<_, ProcessorError>(())
///         };
///         let (transformed, produced) = tokio::join!(transform, produce);
///         transformed.and(produced)
///     }
/// }
/// ```
///
/// A failure is reported in phase `init` from `init`; from `run`, in phase `produce` for a processor without
/// readers (a source) and `transform` otherwise, unless the error says otherwise with
/// [`ProcessorError::in_phase`]. A panic is caught and reported like an error, with its backtrace.
pub trait Processor: Send + 'static {
    /// Prepares the processor (open files, check arguments, ...). No processor runs before every processor
    /// of the pipeline has been initialised, so `init` must not wait for messages.
    fn init(&mut self) -> impl Future<Output = Result<(), ProcessorError>> + Send {
        async { Ok(()) }
    }

    /// Does the processor's work: reads its readers to the end, writes its writers. Writers still open when
    /// it returns `Ok` are closed by the runtime.
    fn run(self) -> impl Future<Output = Result<(), ProcessorError>> + Send;
}

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`Processor`] with boxed futures, so that processors of different types can sit in one list.
pub(crate) trait DynProcessor: Send {
    fn init(&mut self) -> BoxFuture<'_, Result<(), ProcessorError>>;
    fn run(self: Box<Self>) -> BoxFuture<'static, Result<(), ProcessorError>>;
}

impl<P: Processor> DynProcessor for P {
    fn init(&mut self) -> BoxFuture<'_, Result<(), ProcessorError>> {
        Box::pin(Processor::init(self))
    }

    fn run(self: Box<Self>) -> BoxFuture<'static, Result<(), ProcessorError>> {
        Box::pin(Processor::run(*self))
    }
}
