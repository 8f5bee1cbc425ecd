//! Planning: morsel's optimizer rules and the operators they put in plans.
//!
//! DataFusion plans every statement with its own rules; [`analyzer_rules`]
//! places ours among its analyzer rules (which resolve and type a logical
//! plan), and [`physical_rules`] lists ours that run after all of its
//! physical ones, in order. A rule lives
//! in `rules/`, one file each, and imports the operator it inserts from
//! `operators/`; an operator knows nothing of the rules. Nothing here knows
//! the catalog, the session or the front end: a rule sees a plan and the
//! session's settings, nothing else.

pub mod operators;
pub mod rules;

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::optimizer::AnalyzerRule;
use datafusion::physical_optimizer::PhysicalOptimizerRule;

use operators::POOL_SHARE;

/// DataFusion's analyzer rules (`defaults`) with ours among them.
pub fn analyzer_rules(
    defaults: Vec<Arc<dyn AnalyzerRule + Send + Sync>>,
) -> Vec<Arc<dyn AnalyzerRule + Send + Sync>> {
    let mut rules = Vec::with_capacity(defaults.len() + 1);
    for rule in defaults {
        if rule.name() == "type_coercion" {
            // Just before type coercion: it sees the types as written and
            // would give a float compared with a decimal the decimal's type.
            rules.push(Arc::new(rules::FloatMeetsDecimal) as _);
        }
        rules.push(rule);
    }
    rules
}

/// The physical rules of a session, in the order they run; they are the
/// rules of a memory limit, so a session without one has none.
pub fn physical_rules(memory_limited: bool) -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    if !memory_limited {
        return Vec::new();
    }
    vec![
        // First: it turns each null-aware anti join (`NOT IN`) into a plain
        // partitioned one, which only then is a join the next rule handles.
        Arc::new(rules::SpillableNotIn),
        // Last: every partitioned hash join, its own and DataFusion's, is
        // final by now, and each becomes a join that spills.
        Arc::new(rules::SpillableJoins),
    ]
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
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime.build_arc().expect("runtime"))
            .with_default_features();
        for rule in physical_rules(pool.is_some()) {
            state = state.with_physical_optimizer_rule(rule);
        }
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

    #[test]
    fn without_a_limit_there_are_no_rules_of_ours() {
        assert!(physical_rules(false).is_empty());
        let rules = physical_rules(true);
        let names: Vec<&str> = rules.iter().map(|r| r.name()).collect();
        assert_eq!(names, ["spillable_not_in", "spillable_joins"]);
    }
}
