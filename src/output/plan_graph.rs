//! Physical plans drawn as graphs: DOT, SVG (rendered in-process) and HTML.
//!
//! One node per operator with its partitions and, after the plan ran, its
//! output rows, compute time, peak memory and spills; edges carry the rows
//! that flowed along them. Nodes are shaded by their share of the compute
//! time, so the hot operators stand out. DOT is the one description: the SVG
//! is rendered from it by `layout-rs` (no graphviz binary needed), and the
//! HTML page wraps the SVG with a table of the same figures.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use datafusion::physical_plan::metrics::{MetricValue, MetricsSet};
use datafusion::physical_plan::{ExecutionPlan, displayable};
use layout::backends::svg::SVGWriter;
use layout::gv::{DotParser, GraphBuilder};

use super::group_digits;
use crate::error::{Error, Result};
use crate::session::{Job, StageOperator};
use crate::storage::human_bytes;

/// The figures of one operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    pub id: usize,
    /// Children's ids: the operators this one reads from.
    pub inputs: Vec<usize>,
    pub name: String,
    pub detail: String,
    pub partitions: usize,
    pub rows: Option<usize>,
    pub compute_nanos: Option<usize>,
    pub peak_memory: Option<usize>,
    pub spilled_bytes: Option<usize>,
    pub spill_files: Option<usize>,
}

/// A plan as a list of operators, root first.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanGraph {
    pub operators: Vec<Operator>,
    /// Whether the figures come from a run (EXPLAIN ANALYZE) or only a plan.
    pub analyzed: bool,
}

/// How a graph is written, from the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Svg,
    Html,
}

impl GraphFormat {
    pub fn from_path(path: &Path) -> Result<Self> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("dot" | "gv") => Ok(Self::Dot),
            Some("svg") => Ok(Self::Svg),
            Some("html" | "htm") => Ok(Self::Html),
            _ => Err(Error::Usage(format!(
                "{}: a plan graph is written as .svg, .dot or .html",
                path.display()
            ))),
        }
    }
}

impl PlanGraph {
    pub fn from_plan(plan: &Arc<dyn ExecutionPlan>, analyzed: bool) -> Self {
        let mut operators = Vec::new();
        collect(plan, &mut operators);
        Self {
            operators,
            analyzed,
        }
    }

    /// The plan a cluster ran, from its scheduler's record: each stage's
    /// operators, named with their stage, and each shuffle reader reading
    /// from the stage it names. The last stage, whose output is the
    /// result, comes first.
    pub fn from_job(job: &Job) -> Self {
        let mut operators: Vec<Operator> = Vec::new();
        let mut stage_roots = HashMap::new();
        let mut readers = Vec::new();
        for stage in job.stages.iter().rev() {
            // The operators above the one being added, by depth.
            let mut above: Vec<usize> = Vec::new();
            for operator in &stage.operators {
                let id = operators.len();
                above.truncate(operator.depth);
                match above.last() {
                    Some(&parent) => operators[parent].inputs.push(id),
                    None => {
                        stage_roots.insert(stage.id, id);
                    }
                }
                above.push(id);
                let mut measured = Operator::measured(
                    id,
                    &operator.name,
                    &operator.description,
                    stage.tasks,
                    operator.metrics.as_ref(),
                );
                measured.name = format!("{} (stage {})", operator.name, stage.id);
                operators.push(measured);
                if let Some(upstream) = upstream_stage(operator) {
                    readers.push((id, upstream));
                }
            }
        }
        for (reader, upstream) in readers {
            if let Some(&root) = stage_roots.get(&upstream) {
                operators[reader].inputs.push(root);
            }
        }
        Self {
            operators,
            analyzed: true,
        }
    }

    pub fn render(&self, format: GraphFormat) -> Result<String> {
        match format {
            GraphFormat::Dot => Ok(self.dot()),
            GraphFormat::Svg => self.svg(),
            GraphFormat::Html => self.html(),
        }
    }

    fn total_compute(&self) -> usize {
        self.operators
            .iter()
            .filter_map(|op| op.compute_nanos)
            .sum::<usize>()
            .max(1)
    }

    /// The graph in graphviz's language.
    pub fn dot(&self) -> String {
        let total = self.total_compute();
        let mut dot = String::from("digraph plan {\n");
        dot.push_str("  node [fontname=\"Helvetica\"];\n");
        for op in &self.operators {
            let heat = op.compute_nanos.unwrap_or(0) as f64 / total as f64;
            let _ = writeln!(
                dot,
                "  n{} [shape=box, style=filled, label=\"{}\", fillcolor=\"{}\"];",
                op.id,
                escape(&self.label(op)),
                heat_colour(heat)
            );
        }
        // Edges run from an operator to its input, so the root is drawn on
        // top; `dir=back` makes graphviz point the arrow the way rows flow.
        for op in &self.operators {
            for input in &op.inputs {
                let rows = self.operators[*input]
                    .rows
                    .map(|r| format!(", label=\"{} rows\"", group_digits(r)))
                    .unwrap_or_default();
                let _ = writeln!(dot, "  n{} -> n{input} [dir=back{rows}];", op.id);
            }
        }
        dot.push_str("}\n");
        dot
    }

    fn label(&self, op: &Operator) -> String {
        let mut lines = vec![op.name.clone()];
        if !op.detail.is_empty() {
            lines.push(shorten(&op.detail, 60));
        }
        let plural = if op.partitions == 1 { "" } else { "s" };
        lines.push(format!("{} partition{plural}", op.partitions));
        if self.analyzed {
            lines.extend(figures(op));
        }
        lines.join("\n")
    }

    pub fn svg(&self) -> Result<String> {
        let dot = self.dot();
        let mut parser = DotParser::new(&dot);
        let graph = parser
            .process()
            .map_err(|e| Error::query(format!("cannot lay out the plan graph: {e}")))?;
        let mut builder = GraphBuilder::new();
        builder.visit_graph(&graph);
        let mut visual = builder.get();
        let mut svg = SVGWriter::new();
        visual.do_it(false, false, false, &mut svg);
        Ok(svg.finalize())
    }

    fn html(&self) -> Result<String> {
        let svg = self.svg()?;
        let total = self.total_compute();
        let mut rows = String::new();
        let mut by_time: Vec<&Operator> = self.operators.iter().collect();
        by_time.sort_by_key(|op| std::cmp::Reverse(op.compute_nanos.unwrap_or(0)));
        for op in by_time {
            let share = op.compute_nanos.unwrap_or(0) as f64 * 100.0 / total as f64;
            let cell = |v: Option<String>| v.unwrap_or_default();
            let _ = writeln!(
                rows,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{share:.1} %</td><td>{}</td><td>{}</td></tr>",
                html_escape(&op.name),
                op.partitions,
                cell(op.rows.map(group_digits)),
                cell(op.compute_nanos.map(format_nanos)),
                cell(op.peak_memory.map(|b| human_bytes(b as u64))),
                cell(op.spilled_bytes.map(|b| human_bytes(b as u64))),
            );
        }
        Ok(format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>morsel plan</title>\
             <style>body{{font-family:Helvetica,sans-serif}}td,th{{padding:2px 10px;text-align:right}}\
             td:first-child{{text-align:left}}</style></head><body>\n{svg}\n\
             <table><tr><th>operator</th><th>partitions</th><th>rows</th><th>compute</th>\
             <th>share</th><th>peak memory</th><th>spilled</th></tr>\n{rows}</table>\n</body></html>\n"
        ))
    }
}

impl Operator {
    /// Operator `id` named `name`, described by a plan's one line of it,
    /// with the figures of `metrics` (summed over partitions).
    fn measured(
        id: usize,
        name: &str,
        line: &str,
        partitions: usize,
        metrics: Option<&MetricsSet>,
    ) -> Self {
        let detail = line
            .trim()
            .strip_prefix(name)
            .unwrap_or(line)
            .trim_start_matches(':')
            .trim()
            .to_string();
        Operator {
            id,
            inputs: Vec::new(),
            name: name.to_string(),
            detail,
            partitions,
            rows: metrics.and_then(|m| m.output_rows()),
            compute_nanos: metrics.and_then(compute_time),
            peak_memory: metrics.and_then(peak_memory),
            spilled_bytes: metrics.and_then(|m| m.spilled_bytes()),
            spill_files: metrics.and_then(|m| m.spill_count()),
        }
    }
}

/// The stage whose output a cluster's shuffle reader reads, from its line
/// (`ShuffleReaderExec: upstream_stage: 2, …`).
fn upstream_stage(operator: &StageOperator) -> Option<usize> {
    let after = operator.description.split("upstream_stage: ").nth(1)?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn collect(plan: &Arc<dyn ExecutionPlan>, operators: &mut Vec<Operator>) -> usize {
    let id = operators.len();
    let metrics = plan.metrics().map(|m| m.aggregate_by_name());
    operators.push(Operator::measured(
        id,
        plan.name(),
        &displayable(plan.as_ref()).one_line().to_string(),
        plan.properties().output_partitioning().partition_count(),
        metrics.as_ref(),
    ));
    for child in plan.children() {
        let child_id = collect(child, operators);
        operators[id].inputs.push(child_id);
    }
    id
}

/// The memory an operator held at its peak, summed over its partitions.
/// Operators name the figure as they like (`peak_mem_used` for aggregates,
/// `build_mem_used` for hash joins, `max_mem_used` for buffers), so every
/// metric of the peak-memory kind counts. DataFusion's sort keeps none.
fn peak_memory(metrics: &MetricsSet) -> Option<usize> {
    metrics
        .iter()
        .filter_map(|metric| match metric.value() {
            MetricValue::PeakMemoryUsage { gauge, .. } => Some(gauge.value()),
            _ => None,
        })
        .reduce(|a, b| a + b)
}

/// Time an operator spent working. File scans count decoding separately
/// from `elapsed_compute`, which they leave near zero.
fn compute_time(metrics: &MetricsSet) -> Option<usize> {
    let scanning = metrics
        .sum_by_name("time_elapsed_processing")
        .map(|v| v.as_usize());
    match (metrics.elapsed_compute(), scanning) {
        (Some(compute), Some(scan)) => Some(compute.max(scan)),
        (compute, scan) => compute.or(scan),
    }
}

/// The after-the-run lines of a node: rows, time, memory, spills.
fn figures(op: &Operator) -> Vec<String> {
    let mut line = Vec::new();
    if let Some(rows) = op.rows {
        line.push(format!("{} rows", group_digits(rows)));
    }
    if let Some(nanos) = op.compute_nanos {
        line.push(format_nanos(nanos));
    }
    if let Some(memory) = op.peak_memory.filter(|m| *m > 0) {
        line.push(format!("peak {}", human_bytes(memory as u64)));
    }
    let mut lines = vec![line.join(" · ")];
    if let Some(spilled) = op.spilled_bytes.filter(|b| *b > 0) {
        lines.push(format!(
            "spilled {} in {} files",
            human_bytes(spilled as u64),
            op.spill_files.unwrap_or(0)
        ));
    }
    lines.retain(|l| !l.is_empty());
    lines
}

fn format_nanos(nanos: usize) -> String {
    let ms = nanos as f64 / 1e6;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.1} ms")
    }
}

/// White for idle operators through yellow to red for the hottest.
fn heat_colour(share: f64) -> String {
    let share = share.clamp(0.0, 1.0);
    let green = (255.0 - 155.0 * share) as u8;
    let blue = (255.0 - 235.0 * share.min(0.5) * 2.0) as u8;
    format!("#ff{green:02x}{blue:02x}")
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max - 1).collect();
    format!("{kept}…")
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operator(id: usize, name: &str, inputs: Vec<usize>, rows: usize, nanos: usize) -> Operator {
        Operator {
            id,
            inputs,
            name: name.to_string(),
            detail: String::new(),
            partitions: 2,
            rows: Some(rows),
            compute_nanos: Some(nanos),
            peak_memory: Some(3 << 20),
            spilled_bytes: Some(if id == 0 { 5 << 20 } else { 0 }),
            spill_files: Some(2),
        }
    }

    fn graph() -> PlanGraph {
        PlanGraph {
            operators: vec![
                operator(0, "SortExec", vec![1], 10, 9_000_000),
                operator(1, "DataSourceExec", vec![], 1234, 1_000_000),
            ],
            analyzed: true,
        }
    }

    #[test]
    fn the_hot_operator_is_darkest_and_edges_carry_rows() {
        let dot = graph().dot();
        assert!(
            dot.contains("n0 -> n1 [dir=back, label=\"1,234 rows\"]"),
            "{dot}"
        );
        assert!(dot.contains("spilled 5.0 MiB in 2 files"), "{dot}");
        assert!(
            dot.contains(&format!("fillcolor=\"{}\"", heat_colour(0.9))),
            "{dot}"
        );
    }

    #[test]
    fn svg_has_every_operator_and_its_figures() {
        let svg = graph().svg().unwrap();
        for text in [
            "SortExec",
            "DataSourceExec",
            "1,234 rows",
            "9.0 ms",
            "peak 3.0 MiB",
        ] {
            assert!(svg.contains(text), "{text} missing from {svg}");
        }
    }

    fn stage_operator(depth: usize, line: &str, rows: Option<usize>) -> StageOperator {
        use datafusion::physical_plan::metrics::{Count, Metric, MetricValue};
        let metrics = rows.map(|rows| {
            let count = Count::new();
            count.add(rows);
            let mut set = MetricsSet::new();
            set.push(Arc::new(Metric::new(MetricValue::OutputRows(count), None)));
            set
        });
        StageOperator {
            depth,
            name: line.split(':').next().unwrap().to_string(),
            description: line.to_string(),
            metrics,
        }
    }

    #[test]
    fn a_jobs_stages_join_where_a_shuffle_reads_another() {
        use crate::session::JobStage;
        let job = Job {
            stages: vec![
                JobStage {
                    id: 1,
                    tasks: 3,
                    operators: vec![
                        stage_operator(0, "ShuffleWriterExec: partitioning: Hash([k@0], 2)", None),
                        stage_operator(1, "DataSourceExec: file_groups={3 groups}", Some(70)),
                    ],
                },
                JobStage {
                    id: 2,
                    tasks: 2,
                    operators: vec![
                        stage_operator(0, "ShuffleWriterExec: partitioning: None", None),
                        stage_operator(1, "AggregateExec: mode=FinalPartitioned", Some(4)),
                        stage_operator(
                            2,
                            "ShuffleReaderExec: upstream_stage: 1, partitioning: Hash([k@0], 2)",
                            Some(70),
                        ),
                    ],
                },
            ],
        };
        let graph = PlanGraph::from_job(&job);
        let names: Vec<&str> = graph.operators.iter().map(|op| op.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ShuffleWriterExec (stage 2)",
                "AggregateExec (stage 2)",
                "ShuffleReaderExec (stage 2)",
                "ShuffleWriterExec (stage 1)",
                "DataSourceExec (stage 1)",
            ]
        );
        let inputs: Vec<&[usize]> = graph
            .operators
            .iter()
            .map(|op| op.inputs.as_slice())
            .collect();
        assert_eq!(inputs, [&[1][..], &[2], &[3], &[4], &[]]);
        assert_eq!(
            graph.operators[2].detail,
            "upstream_stage: 1, partitioning: Hash([k@0], 2)"
        );
        assert_eq!(graph.operators[4].rows, Some(70));
        assert_eq!(graph.operators[4].partitions, 3);
        assert!(graph.svg().unwrap().contains("DataSourceExec (stage 1)"));
    }
}
