//! Everything that can be wrong with a pipeline, as typed values that say where and how to fix it.

use std::fmt;

/// One thing wrong with a pipeline. Resolution collects all of them before reporting, so a user
/// fixes a file in one pass instead of one error per run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The file the problem is in, as shown to the user (relative to the pipeline's folder).
    pub file: Option<String>,
    /// 1-based line and column, where the parser knows them.
    pub position: Option<(u64, u64)>,
    /// The subject the problem is about, printed compactly (`<gen>`, `rdfc:LogProcessor`).
    pub subject: Option<String>,
    /// The predicate involved, printed compactly.
    pub predicate: Option<String>,
}

/// The kinds of problem, each with its own message; [`ProblemKind::help`] says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemKind {
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("cannot read {path}: it is a symbolic link that leads to no file ({reason})")]
    BrokenLink { path: String, reason: String },
    #[error("cannot read {path}: it is {kind}, not a regular file")]
    NotARegularFile { path: String, kind: String },
    #[error("cannot read {path}: it holds {size} bytes, more than the limit of {limit}")]
    FileTooLarge { path: String, size: u64, limit: u64 },
    #[error("{path} has an extension Riffle does not know as RDF")]
    UnknownFormat { path: String },
    #[error("{path} is not UTF-8 text: it looks like {found}")]
    NotText { path: String, found: String },
    #[error("{path} nests JSON objects and arrays more than {limit} levels deep")]
    JsonTooDeep { path: String, limit: usize },
    #[error("{path} holds no RDF statements")]
    NoStatements { path: String, json: bool },
    #[error("syntax error: {message}")]
    Syntax { message: String },
    #[error("imports {import}, which does not exist")]
    MissingImport { import: String },
    #[error("imports {import}, which is a folder, not a file")]
    ImportIsFolder { import: String },
    #[error("imports {import}, which is not a local file")]
    RemoteImport { import: String },
    #[error("no processors found")]
    NoProcessors,
    #[error("the file describes {count} pipelines: {pipelines}")]
    SeveralPipelines { count: usize, pipelines: String },
    #[error("processor {processor} has no rdf:type")]
    UntypedProcessor { processor: String },
    #[error("processor {processor} is a {class}, which is not a processor class")]
    UnknownProcessorClass { processor: String, class: String },
    #[error("processor {processor} has {count} processor classes: {classes}")]
    SeveralProcessorClasses { processor: String, count: usize, classes: String },
    #[error("processor {processor} is listed under {count} runner instances")]
    ProcessorInSeveralRunners { processor: String, count: usize },
    #[error("no runner can run processor {processor} (class {class}, declared with {declared_by})")]
    NoRunner { processor: String, class: String, declared_by: String },
    #[error("{count} runners can run processor {processor} (class {class}): {runners}")]
    SeveralRunners { processor: String, class: String, count: usize, runners: String },
    #[error("unknown runner {runner}")]
    UnknownRunner { runner: String },
    #[error("a rdfc:consistsOf part of the pipeline names no runner")]
    PartWithoutRunner,
    #[error("runner {runner} cannot run processor {processor} (class {class})")]
    RunnerMismatch { runner: String, processor: String, class: String },
    #[error("runner {runner} says neither how to start it (riffle:argv) nor rdfc:command")]
    RunnerWithoutCommand { runner: String },
    #[error("runner {runner} needs program \"{program}\", which is neither beside the riffle executable nor on PATH")]
    ProgramNotFound { runner: String, program: String, hint: Option<String> },
    #[error("runner {runner} starts {path}, which does not exist")]
    RunnerFileMissing { runner: String, path: String, home: String },
    #[error("runner {runner} needs {program} {minimum} or later, but the one found is {found}")]
    RunnerVersionTooOld { runner: String, program: String, found: String, minimum: String, hint: Option<String> },
    #[error("runner {runner} could not say its version: `{command}` gave {output:?}")]
    RunnerVersionUnknown { runner: String, command: String, output: String, hint: Option<String> },
    #[error("{subject} lacks required argument \"{name}\"")]
    MissingArgument { subject: String, name: String },
    #[error("argument \"{name}\" of {subject} takes at most {max} value(s) but has {count}")]
    TooManyValues { subject: String, name: String, max: u64, count: usize },
    #[error("argument \"{name}\" of {subject} has {count} value(s) but needs at least {min}")]
    TooFewValues { subject: String, name: String, min: u64, count: usize },
    #[error("argument \"{name}\" of {subject} is {value}, which is not a valid {datatype}")]
    WrongDatatype { subject: String, name: String, value: String, datatype: String },
    #[error("argument \"{name}\" of {subject} is {value}, which is out of range for {datatype}")]
    OutOfRange { subject: String, name: String, value: String, datatype: String },
    #[error("argument \"{name}\" of {subject} is {value}, but a literal of type {datatype} is expected")]
    ExpectedLiteral { subject: String, name: String, value: String, datatype: String },
    #[error("argument \"{name}\" of {subject} is {value}, which is a {actual}, not a {expected}")]
    WrongClass { subject: String, name: String, value: String, actual: String, expected: String },
    #[error("argument \"{name}\" of {subject} is a {class}, but no shape describes {class}")]
    NoShapeForClass { subject: String, name: String, class: String },
    #[error("argument \"{name}\" of {subject} is {value}, but a resource is expected")]
    ExpectedResource { subject: String, name: String, value: String },
    #[error("argument \"{name}\" of {subject} nests more than {depth} levels deep")]
    NestingTooDeep { subject: String, name: String, depth: usize },
    #[error("argument \"{name}\" of {subject} loops back on itself: {node} contains itself through \"{path}\"")]
    NestingLoop { subject: String, name: String, node: String, path: String },
    #[error("the list in argument \"{name}\" of {subject} is not a well-formed RDF list")]
    MalformedList { subject: String, name: String },
    #[error("argument \"{name}\" of {subject} reads environment variable {key}, which is not set and has no rdfl:envDefault")]
    UnknownEnvVariable { subject: String, name: String, key: String },
    #[error("argument \"{name}\" of {subject} is an rdfl:EnvVariable without rdfl:envKey")]
    EnvVariableWithoutKey { subject: String, name: String },
    #[error("property shape of {shape} has no sh:path")]
    ShapeWithoutPath { shape: String },
    #[error("property shape for {path} in {shape} has neither sh:name nor sh:codeIdentifier")]
    ShapeWithoutName { shape: String, path: String },
    #[error("shapes for {target} declare field \"{name}\" twice, for {first} and {second}")]
    ConflictingFields { target: String, name: String, first: String, second: String },
    #[error("processor {processor} uses {end} as its {role}, but {end} is not a channel")]
    NotAChannel { processor: String, end: String, role: String },
    #[error("channel {channel} has no reader: what is written to it is dropped")]
    ChannelWithoutReader { channel: String },
    #[error("channel {channel} has no writer: its readers end at once")]
    ChannelWithoutWriter { channel: String },
    #[error("channel {channel} is declared, but no processor reads or writes it")]
    UnusedChannel { channel: String },
    #[error("{set_aside} of the {statements} statements in {path} are not connected to the pipeline, so they were not loaded")]
    UnconnectedStatements { path: String, set_aside: usize, statements: usize },
    #[error("processor {processor} is not part of the pipeline {pipeline}, so it is not run")]
    IgnoredProcessor { processor: String, pipeline: String },
    #[error("implementation of {class} names {path}, which does not exist")]
    MissingImplementationFile { class: String, path: String },
    #[error("channel end {end} is a {transport} end, which runner {runner} (of processor {processor}) cannot host")]
    UnsupportedEnd { end: String, transport: String, runner: String, processor: String },
    #[error("channels form a cycle: {cycle}")]
    ChannelCycle { cycle: String },
    #[error("channel end {end} belongs to {count} channels")]
    EndInSeveralChannels { end: String, count: usize },
    #[error("channel end {end} is used as a {used} but declared as the channel's {declared}")]
    EndRoleMismatch { end: String, used: String, declared: String },
    #[error("channel {channel} has {count} transports: {transports}")]
    SeveralTransports { channel: String, count: usize, transports: String },
    #[error("channel {channel} asks for transport {transport}, which Riffle does not know")]
    UnknownTransport { channel: String, transport: String },
    #[error("channel end {end} is a Kafka end ({class}), which Riffle cannot carry yet")]
    KafkaEnd { end: String, class: String },
    #[error("channel {channel} is in memory, but its ends run on {count} runner instances: {runners}")]
    MemoryAcrossRunners { channel: String, count: usize, runners: String },
}

impl ProblemKind {
    /// A stable short name, printed as `error[code]`, that tests and scripts can match on.
    pub fn code(&self) -> &'static str {
        use ProblemKind::*;
        match self {
            Unreadable { .. } => "unreadable",
            BrokenLink { .. } => "broken-link",
            NotARegularFile { .. } => "not-a-regular-file",
            FileTooLarge { .. } => "file-too-large",
            UnknownFormat { .. } => "unknown-format",
            NotText { .. } => "not-text",
            NoStatements { .. } => "no-statements",
            JsonTooDeep { .. } => "json-too-deep",
            Syntax { .. } => "syntax",
            MissingImport { .. } => "missing-import",
            ImportIsFolder { .. } => "import-is-folder",
            RemoteImport { .. } => "remote-import",
            NoProcessors => "no-processors",
            SeveralPipelines { .. } => "several-pipelines",
            UntypedProcessor { .. } => "untyped-processor",
            UnknownProcessorClass { .. } => "unknown-processor-class",
            SeveralProcessorClasses { .. } => "several-processor-classes",
            ProcessorInSeveralRunners { .. } => "processor-in-several-runners",
            NoRunner { .. } => "no-runner",
            SeveralRunners { .. } => "several-runners",
            UnknownRunner { .. } => "unknown-runner",
            PartWithoutRunner => "part-without-runner",
            RunnerMismatch { .. } => "runner-mismatch",
            RunnerWithoutCommand { .. } => "runner-without-command",
            ProgramNotFound { .. } => "program-not-found",
            RunnerFileMissing { .. } => "runner-file-missing",
            RunnerVersionTooOld { .. } => "runner-version-too-old",
            RunnerVersionUnknown { .. } => "runner-version-unknown",
            MissingArgument { .. } => "missing-argument",
            TooManyValues { .. } => "too-many-values",
            TooFewValues { .. } => "too-few-values",
            WrongDatatype { .. } => "wrong-datatype",
            OutOfRange { .. } => "out-of-range",
            ExpectedLiteral { .. } => "expected-literal",
            WrongClass { .. } => "wrong-class",
            NoShapeForClass { .. } => "no-shape-for-class",
            ExpectedResource { .. } => "expected-resource",
            NestingTooDeep { .. } => "nesting-too-deep",
            NestingLoop { .. } => "nesting-loop",
            MalformedList { .. } => "malformed-list",
            UnknownEnvVariable { .. } => "unknown-env-variable",
            EnvVariableWithoutKey { .. } => "env-variable-without-key",
            ShapeWithoutPath { .. } => "shape-without-path",
            ShapeWithoutName { .. } => "shape-without-name",
            ConflictingFields { .. } => "conflicting-fields",
            NotAChannel { .. } => "not-a-channel",
            ChannelWithoutReader { .. } => "channel-without-reader",
            ChannelWithoutWriter { .. } => "channel-without-writer",
            UnusedChannel { .. } => "unused-channel",
            IgnoredProcessor { .. } => "ignored-processor",
            UnconnectedStatements { .. } => "unconnected-statements",
            UnsupportedEnd { .. } => "unsupported-end",
            ChannelCycle { .. } => "channel-cycle",
            MissingImplementationFile { .. } => "missing-implementation-file",
            EndInSeveralChannels { .. } => "end-in-several-channels",
            EndRoleMismatch { .. } => "end-role-mismatch",
            SeveralTransports { .. } => "several-transports",
            UnknownTransport { .. } => "unknown-transport",
            MemoryAcrossRunners { .. } => "memory-across-runners",
            KafkaEnd { .. } => "kafka-end",
        }
    }

    /// How to fix it, in one sentence a user can act on.
    pub fn help(&self) -> String {
        use ProblemKind::*;
        match self {
            Unreadable { .. } => "check that the path is right and the file readable".into(),
            NotARegularFile { .. } => "import an RDF file; pipes, devices and sockets are not read, since they may never end".into(),
            FileTooLarge { .. } => "split the file, or raise the limit with RIFFLE_MAX_FILE_SIZE (bytes)".into(),
            BrokenLink { path, .. } => format!("point the link {path} at the RDF file (`ls -l` shows where it leads), or use the file itself"),
            UnknownFormat { .. } => "name the file .ttl (Turtle), .trig, .nt, .nq, .rdf/.owl (RDF/XML) or .jsonld".into(),
            NotText { found, .. } if found.contains("text") => "save the file as UTF-8 (RDF syntaxes are UTF-8 only)".into(),
            NotText { .. } => "check that the path names the RDF file you meant; RDF files are UTF-8 text".into(),
            JsonTooDeep { limit, .. } => format!("flatten the JSON-LD: give nested objects an \"@id\" and describe them at the top level of \"@graph\" (at most {limit} levels)"),
            NoStatements { json: true, .. } => "JSON-LD needs an \"@context\" that maps its keys to IRIs (plain JSON keys are dropped); add one, or write the pipeline in Turtle".into(),
            NoStatements { .. } => "write the pipeline's statements in the file, or pass the file that holds them".into(),
            Syntax { .. } => "fix the syntax at the position shown".into(),
            MissingImport { .. } => "correct the owl:imports path (it is relative to the importing file), or install the package that provides it (npm install)".into(),
            ImportIsFolder { .. } => "import the .ttl file inside the folder, not the folder".into(),
            RemoteImport { .. } => "Riffle never fetches from the network: save a copy next to the pipeline and import it by relative path".into(),
            NoProcessors => "add processor instances (`<p> a SomeProcessorClass`) and import the files that declare their classes".into(),
            SeveralPipelines { .. } => "keep one rdfc:Pipeline per file; import shared parts from other files instead".into(),
            UntypedProcessor { .. } => "give the processor its class: `<p> a SomeProcessorClass`".into(),
            UnknownProcessorClass { class, .. } => format!("import the file that declares {class} (e.g. with rdfc:jsImplementationOf), or correct the class name"),
            SeveralProcessorClasses { .. } => "give each processor exactly one processor class".into(),
            ProcessorInSeveralRunners { .. } => "list the processor under one rdfc:consistsOf part only".into(),
            NoRunner { declared_by, .. } => format!("add a runner that handles it (`<MyRunner> a rdfc:CommandRunner; rdfc:handlesSubjectsOf {declared_by}; rdfc:command \"...\"`), or check `riffle runners`"),
            SeveralRunners { .. } => "choose one explicitly: `<> rdfc:consistsOf [ rdfc:instantiates <Runner>; rdfc:processor <p> ]`".into(),
            UnknownRunner { .. } => "use a runner listed by `riffle runners`, or import the file that describes it".into(),
            PartWithoutRunner => "add `rdfc:instantiates <Runner>` to the part".into(),
            RunnerMismatch { .. } => "assign the processor to a runner of its language, or let Riffle choose by removing it from this part".into(),
            RunnerWithoutCommand { .. } => "add `riffle:argv (\"program\" \"arg\")` to the runner".into(),
            ProgramNotFound { program, hint, .. } => {
                hint.clone().unwrap_or_else(|| format!("install {program}, or put the folder that holds it on PATH"))
            }
            RunnerFileMissing { home, .. } => format!(
                "Riffle's runners are looked for in {home}: set RIFFLE_HOME to a Riffle distribution (the folder that holds runners/, made by scripts/dist), or unset it; in a checkout, ./scripts/build makes them"
            ),
            RunnerVersionTooOld { program, minimum, hint, .. } => {
                hint.clone().unwrap_or_else(|| format!("install {program} {minimum} or later and put it first on PATH"))
            }
            RunnerVersionUnknown { command, hint, .. } => match hint {
                Some(hint) => format!("run `{command}` to see what is wrong; {hint}"),
                None => format!("run `{command}` to see what is wrong"),
            },
            MissingArgument { .. } => "add a value for it to the processor, or give the property shape a sh:defaultValue".into(),
            TooManyValues { .. } => "keep only one value, or raise the shape's sh:maxCount".into(),
            TooFewValues { .. } => "add values, or lower the shape's sh:minCount".into(),
            WrongDatatype { datatype, .. } => {
                let example = match datatype.as_str() {
                    "xsd:boolean" => "true or false",
                    "xsd:decimal" | "xsd:double" | "xsd:float" => "a number such as 1.5",
                    d if crate::vocab::XSD_INTEGERS.iter().any(|i| d == format!("xsd:{i}")) => "a whole number such as 42, within the type's range",
                    _ => "a value of that type",
                };
                format!("write {example}")
            }
            OutOfRange { datatype, .. } => {
                let range = match datatype.as_str() {
                    "xsd:int" => " (-2147483648 to 2147483647)",
                    "xsd:short" => " (-32768 to 32767)",
                    "xsd:byte" => " (-128 to 127)",
                    "xsd:unsignedInt" => " (0 to 4294967295)",
                    "xsd:unsignedShort" => " (0 to 65535)",
                    "xsd:unsignedByte" => " (0 to 255)",
                    "xsd:long" | "xsd:integer" => " (-9223372036854775808 to 18446744073709551615 here)",
                    _ => "",
                };
                format!("write a number within the range of {datatype}{range}")
            }
            ExpectedLiteral { .. } => "write a literal value instead of a resource".into(),
            WrongClass { expected, .. } => format!("use a resource of class {expected} (or of a subclass)"),
            NoShapeForClass { class, .. } => format!("import the file with the sh:NodeShape that has `sh:targetClass {class}`"),
            ExpectedResource { .. } => "use an IRI or a blank node `[ ... ]` here, not a literal".into(),
            NestingTooDeep { depth, .. } => format!("flatten the nested values: Riffle accepts at most {depth} levels"),
            NestingLoop { node, .. } => format!("break the cycle: {node} must not be nested inside itself"),
            MalformedList { .. } => "write the list with Turtle's ( a b c ) syntax".into(),
            UnknownEnvVariable { key, .. } => format!("set {key} in the environment, or add `rdfl:envDefault \"...\"`"),
            EnvVariableWithoutKey { .. } => "add `rdfl:envKey \"NAME\"`".into(),
            ShapeWithoutPath { .. } => "add `sh:path <predicate>` to the property shape".into(),
            ShapeWithoutName { .. } => "add `sh:name \"field\"` to the property shape".into(),
            ConflictingFields { .. } => "rename one of the fields (sh:name) or drop one shape".into(),
            // A literal cannot be declared a channel: suggest the IRI its text would be.
            NotAChannel { end, .. } if end.starts_with('"') => {
                let iri = end.trim_matches('"');
                format!("a channel is an IRI, not a literal: write `<{iri}>` and declare it: `<{iri}> a rdfc:Reader, rdfc:Writer.`")
            }
            NotAChannel { end, .. } => format!("declare it: `{end} a rdfc:Reader, rdfc:Writer.` (or link it with `[] a :Channel; :reader ...; :writer ...`)"),
            ChannelWithoutReader { .. } => "give a processor this channel as a reader argument, or remove the channel".into(),
            ChannelWithoutWriter { .. } => "give a processor this channel as a writer argument, or remove the channel".into(),
            UnusedChannel { .. } => "pass it to a writing and a reading processor, or remove it".into(),
            UnconnectedStatements { .. } => {
                "nothing to do if the pipeline does not use them: of an import over 1 MiB, Riffle loads only the statements linked through subjects and objects to the pipeline, and queries see only those; import a smaller file to keep it whole".into()
            }
            IgnoredProcessor { .. } => {
                "list it under a rdfc:consistsOf part's rdfc:processor to run it; otherwise nothing to do".into()
            }
            ChannelCycle { .. } => {
                "a run ends when every processor has, and in a cycle each waits for the one before it: make sure one of them ends its writer by itself".into()
            }
            UnsupportedEnd { .. } => {
                "run the processor in a runner that declares riffle:supportsTransport for it (the JavaScript runner hosts file and HTTP ends)".into()
            }
            MissingImplementationFile { .. } => {
                "check the path (relative paths resolve against the file that declares the class), or install the package that provides it".into()
            }
            EndInSeveralChannels { .. } => "link each reader or writer end to one channel only".into(),
            EndRoleMismatch { .. } => "swap :reader and :writer on the channel, or pass the other end to the processor".into(),
            SeveralTransports { .. } => "keep one riffle:transport on the channel".into(),
            UnknownTransport { .. } => "use riffle:Memory, riffle:Tcp or riffle:WebSocket".into(),
            MemoryAcrossRunners { .. } => "put both ends in one runner instance, or use riffle:Tcp or riffle:WebSocket".into(),
            KafkaEnd { .. } => "join the processors with a channel of this run instead (`<c> a rdfc:Reader, rdfc:Writer.`, \
riffle:transport riffle:Tcp across runners), or run this pipeline with the connector architecture's own runner"
                .into(),
        }
    }
}

/// How much a problem matters: only errors stop a pipeline; warnings are printed before a run and
/// by `validate`; notes only by `validate --verbose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

impl ProblemKind {
    /// RDF-Connect runs a pipeline whose optional outputs are left unconnected, and ignores what the
    /// pipeline does not list; Riffle runs them too, and says so.
    pub fn severity(&self) -> Severity {
        use ProblemKind::*;
        match self {
            ChannelWithoutReader { .. } | ChannelWithoutWriter { .. } | ChannelCycle { .. } => Severity::Warning,
            UnusedChannel { .. } | IgnoredProcessor { .. } | UnconnectedStatements { .. } => Severity::Note,
            _ => Severity::Error,
        }
    }
}

impl Problem {
    pub fn new(kind: ProblemKind) -> Self {
        Problem { kind, file: None, position: None, subject: None, predicate: None }
    }
    pub fn in_file(mut self, file: Option<String>) -> Self {
        self.file = file;
        self
    }
    pub fn at(mut self, line: u64, column: u64) -> Self {
        self.position = Some((line, column));
        self
    }
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }
    pub fn predicate(mut self, predicate: impl Into<String>) -> Self {
        self.predicate = Some(predicate.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}[{}]: {}", self.kind.severity().as_str(), self.kind.code(), self.kind)?;
        if let Some(file) = &self.file {
            match self.position {
                Some((line, column)) => writeln!(f, "  --> {file}:{line}:{column}")?,
                None => writeln!(f, "  --> {file}")?,
            }
        }
        if let Some(subject) = &self.subject {
            writeln!(f, "  subject: {subject}")?;
        }
        if let Some(predicate) = &self.predicate {
            writeln!(f, "  predicate: {predicate}")?;
        }
        write!(f, "  help: {}", self.kind.help())
    }
}

/// Prints problems the way every command reports them: each one, then a count.
pub fn report(problems: &[Problem]) -> String {
    let mut out = String::new();
    for problem in problems {
        out.push_str(&problem.to_string());
        out.push_str("\n\n");
    }
    let n = problems.len();
    out.push_str(&format!("{n} problem{} found; nothing was started.\n", if n == 1 { "" } else { "s" }));
    out
}
