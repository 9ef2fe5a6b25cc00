//! Which processor classes a runner binary provides: a map from the class name in the processor's
//! implementation (`rdfc:class "Name"`, `implementation.class` in the plan) to a constructor.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::processor::DynProcessor;
use crate::{builtin, Processor};

type Constructor = Box<dyn Fn(Map<String, Value>) -> Result<Box<dyn DynProcessor>, serde_json::Error> + Send + Sync>;

/// The processor classes a runner binary provides, by name.
///
/// ```no_run
/// use riffle_runner::{Processor, ProcessorError, Registry};
///
/// #[derive(serde::Deserialize)]
/// struct Hello {
///     writer: riffle_runner::Writer,
/// }
///
/// impl Processor for Hello {
///     async fn run(mut self) -> Result<(), ProcessorError> {
///         self.writer.send_text("hello").await?;
///         Ok(())
///     }
/// }
///
/// fn main() {
///     riffle_runner::run(Registry::builtin().with::<Hello>("Hello"))
/// }
/// ```
#[derive(Default)]
pub struct Registry {
    classes: BTreeMap<String, Constructor>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// The built-in processors: `Generator`, `FileReader`, `FileWriter`, `Log`, `PassThrough`, `Counter`
    /// (see the [`builtin`] module).
    pub fn builtin() -> Self {
        Registry::new()
            .with::<builtin::Generator>("Generator")
            .with::<builtin::FileReader>("FileReader")
            .with::<builtin::FileWriter>("FileWriter")
            .with::<builtin::Log>("Log")
            .with::<builtin::PassThrough>("PassThrough")
            .with::<builtin::Counter>("Counter")
    }

    /// Adds processor type `P` under `class`, the name its RDF declaration gives with `rdfc:class`. A later
    /// registration of the same name replaces the earlier one.
    pub fn with<P: Processor + DeserializeOwned>(mut self, class: &str) -> Self {
        self.register::<P>(class);
        self
    }

    /// [`Registry::with`] on a `&mut Registry`.
    pub fn register<P: Processor + DeserializeOwned>(&mut self, class: &str) -> &mut Self {
        let constructor: Constructor = Box::new(|arguments| {
            let processor: P = serde_json::from_value(Value::Object(arguments))?;
            Ok(Box::new(processor) as Box<dyn DynProcessor>)
        });
        self.classes.insert(class.to_owned(), constructor);
        self
    }

    /// The class names provided, sorted.
    pub fn classes(&self) -> impl Iterator<Item = &str> {
        self.classes.keys().map(String::as_str)
    }

    /// Whether `class` is provided.
    pub fn contains(&self, class: &str) -> bool {
        self.classes.contains_key(class)
    }

    /// Builds a processor of `class` from its arguments; `None` if the class is not provided. Must run inside
    /// [`construct::with_ends`](crate::construct::with_ends) for reader and writer arguments to resolve.
    pub(crate) fn construct(
        &self,
        class: &str,
        arguments: Map<String, Value>,
    ) -> Option<Result<Box<dyn DynProcessor>, serde_json::Error>> {
        self.classes.get(class).map(|constructor| constructor(arguments))
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.classes.keys()).finish()
    }
}
