//! `riffle top`: a terminal view of a running pipeline, in the style of `vector top`: one row per
//! channel and per processor, redrawn every second from the endpoint of `riffle run --sparql`.
//!
//! It only asks SPARQL questions of the state graph, the same any client can ask, so it works on a
//! run on another host as well, and cannot change the run.

use crate::live::client::{self, EndpointError};
use crate::names::Names;
use crate::run::report::grouped;
use oxigraph::model::Term;
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsParser, ReaderQueryResultsParserOutput};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};
use ratatui::{DefaultTerminal, Frame};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const CHANNELS: &str = "SELECT ?channel ?messages ?bytes ?queued ?rate ?blocked WHERE {
  ?channel riffle:messages ?messages .
  OPTIONAL { ?channel riffle:bytes ?bytes } OPTIONAL { ?channel riffle:queued ?queued }
  OPTIONAL { ?channel riffle:messagesPerSecond ?rate } OPTIONAL { ?channel riffle:blockedSeconds ?blocked }
} ORDER BY ?channel";

const PROCESSORS: &str = "SELECT ?processor ?state ?started ?ended ?runner WHERE {
  ?processor riffle:state ?state . FILTER(?processor != <urn:riffle:run>)
  OPTIONAL { ?processor riffle:startedAt ?started } OPTIONAL { ?processor riffle:endedAt ?ended }
  OPTIONAL { ?processor riffle:runsOn ?runner }
} ORDER BY ?processor";

const RUN: &str = "SELECT ?state WHERE { <urn:riffle:run> riffle:state ?state }";

/// What one round of questions found.
#[derive(Default)]
pub struct Snapshot {
    pub run: String,
    /// Channel, messages, bytes, rate, queued, blocked seconds, as shown.
    pub channels: Vec<[String; 6]>,
    /// Processor, runner, state, time, as shown.
    pub processors: Vec<[String; 4]>,
}

/// Asks the endpoint at `url` for the run's state, its channels and its processors.
pub fn snapshot(url: &str, names: &Names) -> Result<Snapshot, EndpointError> {
    let run = select(url, RUN)?;
    let run = run.first().and_then(|row| row.get("state")).map(local).unwrap_or_else(|| "?".into());
    let channels = select(url, CHANNELS)?
        .iter()
        .map(|row| {
            let number = |name: &str| row.get(name).and_then(number);
            [
                row.get("channel").map(|t| shown(t, names)).unwrap_or_default(),
                number("messages").map(|n| grouped(n as u64)).unwrap_or_default(),
                number("bytes").map(|n| grouped(n as u64)).unwrap_or_default(),
                number("rate").map(|n| format!("{}/s", grouped(n.round() as u64))).unwrap_or_default(),
                number("queued").map(|n| grouped(n as u64)).unwrap_or_default(),
                number("blocked").map(|n| format!("{n:.3} s")).unwrap_or_default(),
            ]
        })
        .collect();
    let processors = select(url, PROCESSORS)?
        .iter()
        .map(|row| {
            let time = |name: &str| {
                row.get(name).and_then(|t| match t {
                    Term::Literal(l) => crate::live::epoch_seconds(l.value()),
                    _ => None,
                })
            };
            let seconds = match (time("started"), time("ended")) {
                (Some(start), Some(end)) => format!("{:.3} s", end - start),
                (Some(start), None) => format!("{:.3} s", now_seconds() - start),
                _ => "-".into(),
            };
            [
                row.get("processor").map(|t| shown(t, names)).unwrap_or_default(),
                row.get("runner").map(|t| shown(t, names)).unwrap_or_default(),
                row.get("state").map(local).unwrap_or_default(),
                seconds,
            ]
        })
        .collect();
    Ok(Snapshot { run, channels, processors })
}

type Solution = HashMap<String, Term>;

fn select(url: &str, query: &str) -> Result<Vec<Solution>, EndpointError> {
    let answer = client::ask(url, query, "application/sparql-results+json")?;
    let unreadable = |reason: String| EndpointError::Response { url: url.into(), reason };
    let parser = QueryResultsParser::from_format(QueryResultsFormat::Json);
    let ReaderQueryResultsParserOutput::Solutions(solutions) =
        parser.for_reader(answer.body.as_slice()).map_err(|e| unreadable(e.to_string()))?
    else {
        return Err(unreadable("it answered a SELECT query with a boolean".into()));
    };
    let mut rows = Vec::new();
    for solution in solutions {
        let solution = solution.map_err(|e| unreadable(e.to_string()))?;
        rows.push(solution.iter().map(|(v, t)| (v.as_str().to_owned(), t.clone())).collect());
    }
    Ok(rows)
}

fn shown(term: &Term, names: &Names) -> String {
    match term {
        Term::NamedNode(n) => match n.as_str().strip_prefix("urn:riffle:runner:") {
            Some(runner) => runner.to_owned(),
            None => names.id(n.as_str()),
        },
        other => other.to_string(),
    }
}

/// `riffle:Running` as `Running`.
fn local(term: &Term) -> String {
    match term {
        Term::NamedNode(n) => n.as_str().rsplit(['#', '/']).next().unwrap_or(n.as_str()).to_owned(),
        other => other.to_string(),
    }
}

fn number(term: &Term) -> Option<f64> {
    match term {
        Term::Literal(l) => l.value().parse().ok(),
        _ => None,
    }
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Runs the view until `q`, Esc or Ctrl-C, asking `url` every `interval`.
pub fn run(url: &str, interval: Duration, names: &Names) -> std::io::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let result = view(&mut terminal, url, interval, names);
    ratatui::restore();
    result
}

fn view(terminal: &mut DefaultTerminal, url: &str, interval: Duration, names: &Names) -> std::io::Result<()> {
    let mut next = Instant::now();
    let mut shown: Result<Snapshot, String> = Err("asking...".into());
    loop {
        if Instant::now() >= next {
            shown = snapshot(url, names).map_err(|e| e.to_string());
            next = Instant::now() + interval;
            terminal.draw(|frame| draw(frame, url, &shown))?;
        }
        if event::poll(next.saturating_duration_since(Instant::now()))? {
            match event::read()? {
                Event::Key(key) if key.kind == KeyEventKind::Press => {
                    let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
                    if ctrl_c || matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) {
                        return Ok(());
                    }
                }
                Event::Resize(..) => {
                    terminal.draw(|frame| draw(frame, url, &shown))?;
                }
                _ => {}
            }
        }
    }
}

fn draw(frame: &mut Frame, url: &str, shown: &Result<Snapshot, String>) {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let (status, snapshot) = match shown {
        Ok(s) => (format!("riffle top  {url}  run: {}  (q to quit)", s.run), Some(s)),
        Err(e) => (format!("riffle top  {url}  {e}  (q to quit)"), None),
    };
    let empty = Snapshot::default();
    let snapshot = snapshot.unwrap_or(&empty);
    let channel_rows = snapshot.channels.len() as u16 + 3;
    let [head, channels, processors] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(channel_rows.min(frame.area().height / 2).max(3)),
        Constraint::Min(3),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(Line::styled(status, bold)), head);
    let table = Table::new(
        snapshot.channels.iter().map(|r| Row::new(r.iter().map(|c| Cell::from(c.as_str())))),
        [
            Constraint::Fill(3),
            Constraint::Length(14),
            Constraint::Length(18),
            Constraint::Length(14),
            Constraint::Length(9),
            Constraint::Length(11),
        ],
    )
    .header(Row::new(["Channel", "Messages", "Bytes", "Rate", "Queued", "Blocked"]).style(bold))
    .block(Block::bordered().title("Channels"));
    frame.render_widget(table, channels);
    let table = Table::new(
        snapshot.processors.iter().map(|r| Row::new(r.iter().map(|c| Cell::from(c.as_str())))),
        [Constraint::Fill(3), Constraint::Fill(2), Constraint::Length(13), Constraint::Length(11)],
    )
    .header(Row::new(["Processor", "Runner", "State", "Time"]).style(bold))
    .block(Block::bordered().title("Processors"));
    frame.render_widget(table, processors);
}
