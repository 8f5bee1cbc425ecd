//! Our optimizer rules, one file each; `planning::analyzer_rules`,
//! `planning::optimizer_rules` and `planning::physical_rules` say in which
//! order they run and why.

mod cancellable_joins;
mod canonical_comparisons;
mod cheap_conjuncts_first;
mod checked_arithmetic;
mod checked_constants;
mod constant_join_keys;
mod csv_compression_by_name;
mod decimal_zero_products;
mod exact_scan_filters_true;
mod fewer_rows_build;
mod filter_projections_apart;
mod filters_under_renames;
mod float_meets_decimal;
mod float_zeros;
mod in_lists_keep_nulls;
mod inexact_float_stats;
mod join_filters_in_scan;
mod joined_keys_only;
mod joins_in_a_cluster;
mod measured_empty_leaves;
mod nan_safe_pruning;
mod not_distinct_as_equal;
mod null_aware_in;
mod one_nan;
mod pushdown_where_names_differ;
mod scalar_aggregate_as_window;
mod self_equalities_unlinked;
mod semi_joins_down;
mod small_joins_first;
mod spillable_joins;
mod spillable_not_in;
mod top_k_groups_not_floats;
mod union_branches_apart;
mod window_keys_as_columns;
mod window_keys_sorted;

pub use cancellable_joins::CancellableJoins;
pub use canonical_comparisons::CanonicalComparisons;
pub use cheap_conjuncts_first::CheapConjunctsFirst;
pub use checked_arithmetic::{CheckedArithmetic, CheckedArithmeticThatTravels};
pub use checked_constants::CheckedConstants;
pub use constant_join_keys::ConstantJoinKeys;
pub use csv_compression_by_name::CsvCompressionByName;
pub use decimal_zero_products::DecimalZeroProducts;
pub use exact_scan_filters_true::ExactScanFiltersTrue;
pub use fewer_rows_build::FewerRowsBuild;
pub use filter_projections_apart::FilterProjectionsApart;
pub use filters_under_renames::FiltersUnderRenames;
pub use float_meets_decimal::FloatMeetsDecimal;
pub use float_zeros::FloatZeros;
pub use in_lists_keep_nulls::InListsKeepNulls;
pub use inexact_float_stats::InexactFloatStats;
pub use join_filters_in_scan::JoinFiltersInScan;
pub use joined_keys_only::JoinedKeysOnly;
pub use joins_in_a_cluster::{PartitionedHashJoins, RightDrivenNestedLoops};
pub use measured_empty_leaves::MeasuredEmptyLeaves;
pub use nan_safe_pruning::NanSafePruning;
pub use not_distinct_as_equal::NotDistinctAsEqual;
pub use null_aware_in::NullAwareIn;
pub use one_nan::OneNan;
pub use pushdown_where_names_differ::PushdownWhereNamesDiffer;
pub use scalar_aggregate_as_window::ScalarAggregateAsWindow;
pub use self_equalities_unlinked::SelfEqualitiesUnlinked;
pub use semi_joins_down::SemiJoinsDown;
pub use small_joins_first::SmallJoinsFirst;
pub use spillable_joins::SpillableJoins;
pub use spillable_not_in::SpillableNotIn;
pub use top_k_groups_not_floats::TopKGroupsNotFloats;
pub use union_branches_apart::UnionBranchesApart;
pub use window_keys_as_columns::WindowKeysAsColumns;
pub use window_keys_sorted::WindowKeysSorted;

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema};
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Aggregate, Expr, LogicalPlan};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::joins::HashJoinExec;

/// One plan node with `rewrite` applied to each of its expressions from
/// the leaves up, every expression keeping the name it had; what the
/// analyzer rules that rewrite expressions share.
fn rewrite_expressions(
    plan: LogicalPlan,
    mut rewrite: impl FnMut(Expr) -> Result<Transformed<Expr>>,
) -> Result<Transformed<LogicalPlan>> {
    let names = NamePreserver::new(&plan);
    plan.map_expressions(|expr| {
        let name = names.save(&expr);
        expr.transform_up(&mut rewrite)
            .map(|transformed| transformed.update_data(|e| name.restore(e)))
    })?
    .map_data(|plan| plan.recompute_schema())
}

/// `plan` with each filter for which `rewrite` gives a node replaced by it.
fn rewrite_filters(
    plan: Arc<dyn ExecutionPlan>,
    rewrite: impl Fn(&FilterExec) -> Option<Result<Arc<dyn ExecutionPlan>>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let rewritten = node.downcast_ref::<FilterExec>().and_then(&rewrite);
        match rewritten {
            Some(replacement) => replacement.map(Transformed::yes),
            None => Ok(Transformed::no(node)),
        }
    })
    .map(|transformed| transformed.data)
}

/// The columns the expressions of a node can name: its inputs', and for a
/// scan its table's.
fn input_schema(plan: &LogicalPlan) -> Result<DFSchema> {
    let mut schema = merge_schema(&plan.inputs());
    if let LogicalPlan::TableScan(scan) = plan {
        schema.merge(&DFSchema::try_from_qualified_schema(
            scan.table_name.clone(),
            &scan.source.schema(),
        )?);
    }
    Ok(schema)
}

/// The input column a projection's expression passes on unchanged, if it
/// does.
fn passed_column(expr: &Expr) -> Option<&Column> {
    match expr {
        Expr::Column(column) => Some(column),
        Expr::Alias(alias) => passed_column(&alias.expr),
        _ => None,
    }
}

/// The group expression that `column` of `plan` is, where `plan` is an
/// aggregate under aliases, filters and projections that pass the column
/// on; `None` otherwise (an aggregated value, a computed column, grouping
/// sets).
fn group_expression(plan: &LogicalPlan, column: &Column) -> Result<Option<Expr>> {
    let index = plan.schema().index_of_column(column)?;
    match plan {
        LogicalPlan::SubqueryAlias(alias) => {
            let inner = alias.input.schema().columns().swap_remove(index);
            group_expression(&alias.input, &inner)
        }
        LogicalPlan::Filter(filter) => group_expression(&filter.input, column),
        LogicalPlan::Projection(projection) => match passed_column(&projection.expr[index]) {
            Some(inner) => group_expression(&projection.input, inner),
            None => Ok(None),
        },
        LogicalPlan::Aggregate(aggregate) => {
            let plain_groups = !aggregate
                .group_expr
                .iter()
                .any(|e| matches!(e, Expr::GroupingSet(_)));
            Ok(aggregate
                .group_expr
                .get(index)
                .filter(|_| plain_groups)
                .cloned())
        }
        _ => Ok(None),
    }
}

/// The aggregate that `plan` is, under aliases, filters and projections.
fn aggregate_below(plan: &LogicalPlan) -> Option<&Aggregate> {
    match plan {
        LogicalPlan::Aggregate(aggregate) => Some(aggregate),
        LogicalPlan::SubqueryAlias(_) | LogicalPlan::Filter(_) | LogicalPlan::Projection(_) => {
            aggregate_below(plan.inputs()[0])
        }
        _ => None,
    }
}

/// `plan` with each hash join, from the leaves up, replaced by what
/// `replace` makes of it (the plan node, and the node as a join); `None`
/// keeps the join.
fn replace_hash_joins(
    plan: Arc<dyn ExecutionPlan>,
    replace: impl Fn(&Arc<dyn ExecutionPlan>, &HashJoinExec) -> Result<Option<Arc<dyn ExecutionPlan>>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let Some(join) = node.downcast_ref::<HashJoinExec>() else {
            return Ok(Transformed::no(node));
        };
        Ok(match replace(&node, join)? {
            Some(replacement) => Transformed::yes(replacement),
            None => Transformed::no(node),
        })
    })
    .map(|transformed| transformed.data)
}

/// The files a plan node scans, where it is a scan of files.
fn file_scan(node: &Arc<dyn ExecutionPlan>) -> Option<&FileScanConfig> {
    node.downcast_ref::<DataSourceExec>()
        .and_then(|exec| exec.data_source().downcast_ref::<FileScanConfig>())
}
