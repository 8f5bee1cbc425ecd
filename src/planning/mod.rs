//! Planning: morsel's optimizer rules, the operators they put in plans and
//! the functions that replace DataFusion's.
//!
//! DataFusion plans every statement with its own rules; [`analyzer_rules`]
//! places ours among its analyzer rules (which resolve and type a logical
//! plan), and [`physical_rules`] among its physical ones, each with why it
//! sits where it does. A rule lives in `rules/`, one file each, and imports
//! the operator it inserts from `operators/`; an operator knows nothing of
//! the rules. Nothing here knows the catalog, the session or the front end:
//! a rule sees a plan and the session's settings, nothing else.

pub mod estimates;
pub mod operators;
pub mod rules;

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::optimizer::{AnalyzerRule, OptimizerRule};
use datafusion::physical_optimizer::PhysicalOptimizerRule;

use operators::POOL_SHARE;

/// DataFusion's analyzer rules (`defaults`) with ours among them.
pub fn analyzer_rules(
    defaults: Vec<Arc<dyn AnalyzerRule + Send + Sync>>,
) -> Vec<Arc<dyn AnalyzerRule + Send + Sync>> {
    let mut rules = Vec::with_capacity(defaults.len() + 6);
    for rule in defaults {
        let is_type_coercion = rule.name() == "type_coercion";
        if is_type_coercion {
            // Just before type coercion: it sees the types as written and
            // would give a float compared with a decimal the decimal's type.
            rules.push(Arc::new(rules::FloatMeetsDecimal) as _);
            // After it, so the subqueries it copies carry its casts; before
            // type coercion, which types the expressions it writes.
            rules.push(Arc::new(rules::NullAwareIn) as _);
        }
        rules.push(rule);
        if is_type_coercion {
            // Just after: both sides of an operator have one type now, and
            // the optimizer, which would fold constants wrapping around,
            // has not run yet.
            rules.push(Arc::new(rules::CheckedConstants) as _);
            // Also after: the lists have their final types, and the
            // simplifier, which would merge them, has not run yet.
            rules.push(Arc::new(rules::InListsKeepNulls) as _);
            // And after: both sides of `IS NOT DISTINCT FROM` have one type,
            // and the optimizer has not made a NULL-matching join key of it.
            rules.push(Arc::new(rules::NotDistinctAsEqual) as _);
            // And after: a float IN list and its value have one type, and
            // a DISTINCT aggregate's arguments their final types.
            rules.push(Arc::new(rules::FloatZeros) as _);
            // And after: every float has its final type; before the
            // optimizer, which folds the constant NaNs it makes one.
            rules.push(Arc::new(rules::OneNan) as _);
            // And after: a product has its final type, which the
            // simplifier would drop writing a product with zero as zero.
            rules.push(Arc::new(rules::DecimalZeroProducts) as _);
        }
    }
    rules
}

/// DataFusion's logical optimizer rules (`defaults`) with ours among them;
/// those that hold more in memory only where there is no memory limit.
pub fn optimizer_rules(
    defaults: Vec<Arc<dyn OptimizerRule + Send + Sync>>,
    memory_limited: bool,
) -> Vec<Arc<dyn OptimizerRule + Send + Sync>> {
    let mut rules = Vec::with_capacity(defaults.len() + 9);
    for rule in defaults {
        if rule.name() == "eliminate_cross_join" {
            // Just before DataFusion rebuilds inner joins from the keys it
            // can place, which drops a key the simplifier has made
            // constant on one side.
            rules.push(Arc::new(rules::ConstantJoinKeys) as _);
        }
        let is_filter_pushdown = rule.name() == "push_down_filter";
        if is_filter_pushdown {
            // Just before filter pushdown, which merges a column's
            // comparisons with constants as if the column were on the
            // left; after the simplifier, which folds those constants.
            rules.push(Arc::new(rules::CanonicalComparisons) as _);
        }
        rules.push(rule);
        if is_filter_pushdown {
            // Right after filter pushdown, which hands tables their filters
            // and asks which they apply exactly.
            rules.push(Arc::new(rules::ExactScanFiltersTrue) as _);
            // After filters have gone down to the tables, whose estimated
            // rows they cut, and have made joins of the `FROM` list's cross
            // joins; first of ours that move joins, so the semi joins
            // below move through the joins in their new order.
            rules.push(Arc::new(rules::SmallJoinsFirst) as _);
            // After filters have gone down and made joins of the `FROM`
            // list's cross joins, which a semi join then passes; before the
            // projections are pruned, so each pass prunes what it moved.
            rules.push(Arc::new(rules::SemiJoinsDown) as _);
            // After the joins are formed and decorrelated subqueries are
            // joins with their aggregates; the key sets it adds go down
            // through the next pass's semi join rule.
            rules.push(Arc::new(rules::JoinedKeysOnly) as _);
            // Once filters are where they stay; every pass puts back in
            // order what that pass's pushdown rebuilt.
            rules.push(Arc::new(rules::CheapConjunctsFirst) as _);
            // Once filters have reached the grouped input whose rows a
            // scalar subquery aggregates too; it buffers that input, so
            // not under a memory limit.
            if !memory_limited {
                rules.push(Arc::new(rules::ScalarAggregateAsWindow) as _);
            }
        }
    }
    // Last of each pass: the windows' keys are final, also those of the
    // windows ScalarAggregateAsWindow writes.
    rules.push(Arc::new(rules::WindowKeysAsColumns));
    rules
}

/// DataFusion's physical rules (`defaults`) with ours, in the order they
/// run; the rules of a memory limit only where there is one.
pub fn physical_rules(
    defaults: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>>,
    memory_limited: bool,
) -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    // First: it sees each expression where the planner put it, before
    // DataFusion's rules push projections and filters into scans and joins.
    let mut rules: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> =
        vec![Arc::new(rules::CheckedArithmetic)];
    rules.extend(rules_around_defaults(defaults, !memory_limited, true));
    rules.extend(spilling_rules(memory_limited));
    // Last of all: it wraps every join, which the rules above find by type.
    rules.push(Arc::new(rules::CancellableJoins));
    rules
}

/// The physical rules of a planner whose plans travel to other processes
/// (a cluster's scheduler): DataFusion's with those of ours whose plans
/// DataFusion's codec can send. The rest run where each stage runs
/// ([`stage_rules`]).
pub fn distributed_physical_rules(
    defaults: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>>,
) -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    // First, as locally, before projections move into scans: the executors'
    // own `checked_arithmetic` does not reach into a scan.
    let mut rules: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> =
        Vec::with_capacity(defaults.len() + 10);
    rules.push(Arc::new(rules::CheckedArithmeticThatTravels));
    // A build side collected once serves one process's partitions, not a
    // cluster's tasks: ours never choose it there.
    for rule in rules_around_defaults(defaults, false, false) {
        let is_ensure_requirements = rule.name() == "EnsureRequirements";
        if is_ensure_requirements {
            // After the join sides are chosen, before the repartitions a
            // partitioned join needs are added.
            rules.push(Arc::new(rules::PartitionedHashJoins) as _);
            rules.push(Arc::new(rules::RightDrivenNestedLoops) as _);
        }
        rules.push(rule);
        if is_ensure_requirements {
            // Right after the sorts are added, one of which may leave out
            // a window's key that only the scheduler knows constant.
            rules.push(Arc::new(rules::WindowKeysSorted) as _);
        }
    }
    // After `EnsureRequirements`, which would take out the repartitions it
    // adds above UNION branches that must run as stages of their own.
    rules.push(Arc::new(rules::UnionBranchesApart) as _);
    // Last, so that no rule brings back a leaf whose tasks would report
    // fewer metrics than their siblings and leave the stage unfinished.
    rules.push(Arc::new(rules::MeasuredEmptyLeaves) as _);
    rules
}

/// The rules applied to each stage of a distributed plan in the process
/// that runs it, since what they put in, or correct, cannot travel: a CSV
/// scan's compression, checked arithmetic, and joins that spill under a
/// memory limit.
/// The stage is planned by then, so arithmetic already pushed into a join's
/// filter is not checked. `NOT IN`'s spilling rewrite is left out: it
/// shares what it saw across partitions in one process, and a cluster runs
/// a stage's partitions as tasks in many.
pub fn stage_rules(memory_limited: bool) -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    let mut rules: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> = vec![
        Arc::new(rules::CsvCompressionByName),
        Arc::new(rules::CheckedArithmetic),
    ];
    if memory_limited {
        rules.push(Arc::new(rules::SpillableJoins));
    }
    rules
}

/// DataFusion's physical rules with ours among them that correct them;
/// those whose plans must not travel only where the plan runs
/// `in_one_process`.
fn rules_around_defaults(
    defaults: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>>,
    may_collect: bool,
    in_one_process: bool,
) -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    // Before DataFusion's aggregate statistics, which would answer
    // `max(f)` from a file's min and max that leave NaN out.
    let mut rules: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> =
        vec![Arc::new(rules::InexactFloatStats)];
    for rule in defaults {
        if rule.name() == "FilterPushdown" {
            // Just before DataFusion pushes filters down, which goes through
            // projections by column name, and after its join selection,
            // which adds the projections where names repeat.
            rules.push(Arc::new(rules::FiltersUnderRenames));
        }
        if rule.name() == "EnsureRequirements" {
            // Before the sorts and repartitions are added, which would
            // satisfy a window's key with a sort on another expression the
            // filter equated it with.
            rules.push(Arc::new(rules::SelfEqualitiesUnlinked));
        }
        if rule.name() == "ProjectionPushdown" {
            // Before each of DataFusion's projection pushdowns, which
            // misreads a projection above a filter that has one of its own.
            rules.push(Arc::new(rules::FilterProjectionsApart));
        }
        let is_join_selection = rule.name() == "join_selection";
        let is_limit_aggregation = rule.name() == "LimitAggregation";
        if rule.name() == "FilterPushdown(Post)" {
            // DataFusion's late filter pushdown, which carries the joins'
            // dynamic filters down through the repartitions added since,
            // finds columns by name there, and takes the wrong one where a
            // name repeats.
            rules.push(Arc::new(rules::PushdownWhereNamesDiffer::new(rule)));
            if in_one_process {
                // Right after it, when each Parquet scan has its dynamic
                // filters; before `nan_safe_pruning`, which must see the
                // predicate it gives a scan.
                rules.push(Arc::new(rules::JoinFiltersInScan));
            }
            // Right after the last of DataFusion's filter pushdowns, when
            // each Parquet scan has every filter it prunes by, the joins',
            // top-k sorts' and aggregates' dynamic filters among them.
            rules.push(Arc::new(rules::NanSafePruning));
            continue;
        }
        rules.push(rule);
        if is_join_selection {
            // Right after DataFusion's join selection, whose build sides it
            // corrects; before the repartitions and dynamic filters that
            // follow from them are added.
            rules.push(Arc::new(rules::FewerRowsBuild { may_collect }));
        }
        if is_limit_aggregation {
            // Right after DataFusion bounds groupings by a top-k, which
            // it cannot do over floats holding NaN.
            rules.push(Arc::new(rules::TopKGroupsNotFloats));
        }
    }
    rules
}

/// Under a memory limit, the rules that make joins spill; none without.
fn spilling_rules(memory_limited: bool) -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    if !memory_limited {
        return Vec::new();
    }
    vec![
        // After DataFusion's: it turns each null-aware anti join (`NOT IN`)
        // into a plain partitioned one, which only then is a join the next
        // rule handles.
        Arc::new(rules::SpillableNotIn),
        // Last: every partitioned hash join, its own and DataFusion's, is
        // final by now, and each becomes a join that spills.
        Arc::new(rules::SpillableJoins),
    ]
}

/// Aggregate functions that take the place of DataFusion's of the same name.
pub fn aggregate_functions() -> Vec<AggregateUDF> {
    let min_max = operators::FloatMinMax::both().map(AggregateUDF::from);
    [AggregateUDF::from(operators::CheckedSum::default())]
        .into_iter()
        .chain(min_max)
        .collect()
}

/// Functions that the plans a cluster's scheduler makes call by name, for
/// its executors to know.
pub fn travelling_functions() -> Vec<ScalarUDF> {
    let mut functions = operators::CheckedIntegerArithmetic::all();
    functions.push(ScalarUDF::from(operators::CanonicalNan::default()));
    functions
}

/// The settings our rules need from the rest of the planner under a memory
/// limit whose pool holds `pool` bytes.
pub fn configure_for_limit(options: &mut ConfigOptions, pool: usize) {
    let optimizer = &mut options.optimizer;
    // Join dynamic filters assume the join's partitions all report their
    // build sides; a spilling join joins by buckets instead.
    optimizer.enable_join_dynamic_filter_pushdown = false;
    // A build side collected once for all partitions is not spilled; the
    // planner may collect one no bigger than the share of the pool all
    // partitions of a spilling join may hold.
    optimizer.hash_join_single_partition_threshold = optimizer
        .hash_join_single_partition_threshold
        .min(pool / POOL_SHARE);
}

#[cfg(test)]
mod tests {
    //! The rules and their operators below the binary: on DataFusion alone,
    //! under a pool small enough to spill, every join answers as DataFusion
    //! does with memory to spare.

    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::execution::memory_pool::GreedyMemoryPool;
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::optimizer::{Analyzer, Optimizer};
    use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
    use datafusion::physical_plan::{ExecutionPlan, collect, displayable};
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::*;

    /// A pool in which 200,000-row build sides do not fit.
    const POOL: usize = 4 * 1024 * 1024;

    const JOINS: [&str; 7] = [
        "SELECT count(*), sum(v), sum(w) FROM a JOIN b ON a.k = b.k",
        "SELECT count(*), sum(v), count(b.k) FROM a LEFT JOIN b ON a.k = b.k",
        "SELECT count(*), count(a.k), count(b.k) FROM a FULL JOIN b ON a.k = b.k AND v < w",
        "SELECT count(*) FROM a WHERE EXISTS (SELECT 1 FROM b WHERE b.k = a.k)",
        "SELECT count(*), sum(v) FROM a WHERE k NOT IN (SELECT k FROM b WHERE k IS NOT NULL)",
        "SELECT count(*), sum(v) FROM a WHERE k NOT IN (SELECT k FROM b)",
        "SELECT count(*), sum(v) FROM a WHERE k NOT IN (SELECT k FROM b WHERE w > 1000)",
    ];

    /// DataFusion with our rules and a pool of `pool` bytes, or with
    /// neither; tables `a` and `b` with NULL keys.
    async fn context(pool: Option<usize>) -> SessionContext {
        let mut config = SessionConfig::new().with_target_partitions(4);
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(pool) = pool {
            configure_for_limit(config.options_mut(), pool);
            runtime = runtime.with_memory_pool(Arc::new(GreedyMemoryPool::new(pool)));
        }
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime.build_arc().expect("runtime"))
            .with_default_features()
            .with_physical_optimizer_rules(physical_rules(
                PhysicalOptimizer::new().rules,
                pool.is_some(),
            ));
        let ctx = SessionContext::new_with_state(state.build());
        for table in [
            "CREATE TABLE a AS SELECT CASE WHEN value % 50 = 0 THEN NULL ELSE value END AS k, \
             value % 97 AS v FROM range(200000)",
            "CREATE TABLE b AS SELECT CASE WHEN value % 70 = 0 THEN NULL ELSE value * 2 END AS k, \
             value % 89 AS w FROM range(200000)",
        ] {
            ctx.sql(table)
                .await
                .expect("table")
                .collect()
                .await
                .expect("created");
        }
        ctx
    }

    /// The plan of `sql` after running it, and its answer as text.
    async fn run(ctx: &SessionContext, sql: &str) -> (Arc<dyn ExecutionPlan>, String) {
        let plan = ctx
            .sql(sql)
            .await
            .expect("plans")
            .create_physical_plan()
            .await
            .expect("physical plan");
        let batches = collect(Arc::clone(&plan), ctx.task_ctx()).await.expect(sql);
        let text = pretty_format_batches(&batches)
            .expect("formats")
            .to_string();
        (plan, text)
    }

    fn spill_count(plan: &Arc<dyn ExecutionPlan>) -> usize {
        let own = plan.metrics().and_then(|m| m.spill_count()).unwrap_or(0);
        own + plan.children().into_iter().map(spill_count).sum::<usize>()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_a_small_pool_every_join_spills_and_answers_as_datafusion() {
        let free = context(None).await;
        let limited = context(Some(POOL)).await;
        for sql in JOINS {
            let (_, expected) = run(&free, sql).await;
            let (plan, answer) = run(&limited, sql).await;
            assert_eq!(answer, expected, "{sql}");
            let shown = displayable(plan.as_ref()).indent(false).to_string();
            assert!(shown.contains("SpillingHashJoinExec"), "{sql}\n{shown}");
            assert!(!shown.contains("null_aware"), "{sql}\n{shown}");
            assert!(spill_count(&plan) > 0, "{sql} did not spill\n{shown}");
        }
    }

    #[tokio::test]
    async fn not_in_keeps_its_subquery_facts_beside_the_join() {
        let limited = context(Some(POOL)).await;
        let (plan, _) = run(&limited, JOINS[5]).await;
        let shown = displayable(plan.as_ref()).indent(false).to_string();
        assert!(shown.contains("not_in_survivor"), "{shown}");
        assert!(shown.contains("NotInSubqueryExec"), "{shown}");
    }

    fn names<T: ?Sized>(rules: &[Arc<T>], name: impl Fn(&T) -> &str) -> Vec<String> {
        rules.iter().map(|r| name(r).to_string()).collect()
    }

    fn projection_pushdowns(rules: &[Arc<dyn PhysicalOptimizerRule + Send + Sync>]) -> usize {
        let passes = rules.iter().filter(|r| r.name() == "ProjectionPushdown");
        passes.count()
    }

    fn assert_each_projection_pushdown_follows_filter_projections_apart(rules: &[String]) {
        let pushdowns: Vec<usize> = (rules.iter().enumerate())
            .filter(|(_, r)| *r == "ProjectionPushdown")
            .map(|(i, _)| i)
            .collect();
        assert!(!pushdowns.is_empty());
        for i in pushdowns {
            assert_eq!(rules[i - 1], "filter_projections_apart");
        }
    }

    #[test]
    fn our_physical_rules_come_first_the_spilling_ones_late_and_cancellable_joins_last() {
        let defaults = PhysicalOptimizer::new().rules;
        let count = defaults.len() + projection_pushdowns(&defaults);
        let free = names(&physical_rules(defaults.clone(), false), |r| r.name());
        assert_eq!(free[..2], ["checked_arithmetic", "inexact_float_stats"]);
        assert_eq!(free.len(), count + 9);
        assert_each_projection_pushdown_follows_filter_projections_apart(&free);
        let selection = free.iter().position(|r| r == "join_selection").unwrap();
        assert_eq!(free[selection + 1], "fewer_rows_build");
        let pushdown = free.iter().position(|r| r == "FilterPushdown").unwrap();
        assert_eq!(free[pushdown - 1], "filters_under_renames");
        let late_pushdown = (free.iter())
            .position(|r| r == "FilterPushdown(Post) where names differ")
            .unwrap();
        assert_eq!(
            free[late_pushdown + 1..late_pushdown + 3],
            ["join_filters_in_scan", "nan_safe_pruning"]
        );
        assert!(selection < pushdown);
        assert_eq!(free[count + 8], "cancellable_joins");
        let requirements = free.iter().position(|r| r == "EnsureRequirements").unwrap();
        assert_eq!(free[requirements - 1], "self_equalities_unlinked");
        let top_k = free.iter().position(|r| r == "LimitAggregation").unwrap();
        assert_eq!(free[top_k + 1], "top_k_groups_not_floats");
        let limited = names(&physical_rules(defaults, true), |r| r.name());
        assert_eq!(limited[..count + 8], free[..count + 8]);
        assert_eq!(
            limited[count + 8..],
            ["spillable_not_in", "spillable_joins", "cancellable_joins"]
        );
    }

    #[test]
    fn a_cluster_plans_with_the_rules_that_travel_and_runs_each_stage_with_the_rest() {
        let defaults = PhysicalOptimizer::new().rules;
        let count = defaults.len() + projection_pushdowns(&defaults);
        let planned = names(&distributed_physical_rules(defaults), |r| r.name());
        assert_eq!(planned.len(), count + 12);
        assert_each_projection_pushdown_follows_filter_projections_apart(&planned);
        assert_eq!(
            planned[planned.len() - 2..],
            ["union_branches_apart", "measured_empty_leaves"]
        );
        assert_eq!(
            planned[..2],
            ["checked_arithmetic_that_travels", "inexact_float_stats"]
        );
        let selection = planned.iter().position(|r| r == "join_selection").unwrap();
        assert_eq!(planned[selection + 1], "fewer_rows_build");
        let requirements = planned
            .iter()
            .position(|r| r == "EnsureRequirements")
            .unwrap();
        assert_eq!(
            planned[requirements - 2..requirements],
            ["partitioned_hash_joins", "right_driven_nested_loops"]
        );
        assert_eq!(planned[requirements + 1], "window_keys_sorted");
        assert!(selection < requirements);
        let pushdown = planned.iter().position(|r| r == "FilterPushdown").unwrap();
        assert_eq!(planned[pushdown - 1], "filters_under_renames");
        let stages = |limited| names(&stage_rules(limited), |r| r.name());
        assert_eq!(
            stages(false),
            ["csv_compression_by_name", "checked_arithmetic"]
        );
        assert_eq!(
            stages(true),
            [
                "csv_compression_by_name",
                "checked_arithmetic",
                "spillable_joins"
            ]
        );
    }

    #[test]
    fn our_optimizer_rules_surround_the_rules_they_correct_the_buffering_one_without_a_limit() {
        let defaults = Optimizer::new().rules;
        let free = names(&optimizer_rules(defaults.clone(), false), |r| r.name());
        let at = free.iter().position(|r| r == "push_down_filter").unwrap();
        assert_eq!(free[at - 1], "canonical_comparisons");
        let cross = free.iter().position(|r| r == "eliminate_cross_join");
        assert_eq!(free[cross.unwrap() - 1], "constant_join_keys");
        assert_eq!(
            free[at + 1..at + 7],
            [
                "exact_scan_filters_true",
                "small_joins_first",
                "semi_joins_down",
                "joined_keys_only",
                "cheap_conjuncts_first",
                "scalar_aggregate_as_window"
            ]
        );
        assert_eq!(free.last().unwrap(), "window_keys_as_columns");
        let limited = names(&optimizer_rules(defaults.clone(), true), |r| r.name());
        assert_eq!(limited.len(), defaults.len() + 8);
        assert!(!limited.contains(&"scalar_aggregate_as_window".to_string()));
    }

    #[test]
    fn our_analyzer_rules_sit_on_either_side_of_type_coercion() {
        let rules = names(&analyzer_rules(Analyzer::new().rules), |r| r.name());
        let at = rules
            .iter()
            .position(|r| r == "type_coercion")
            .expect("type coercion");
        assert_eq!(rules[at - 2], "float_meets_decimal");
        assert_eq!(rules[at - 1], "null_aware_in");
        assert_eq!(rules[at + 1], "checked_constants");
        assert_eq!(rules[at + 2], "in_lists_keep_nulls");
        assert_eq!(rules[at + 3], "not_distinct_as_equal");
        assert_eq!(rules[at + 4], "float_zeros");
        assert_eq!(rules[at + 5], "one_nan");
        assert_eq!(rules[at + 6], "decimal_zero_products");
    }
}
