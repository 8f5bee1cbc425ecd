//! Rule: a window partitioned or ordered by a computed key is computed over
//! a column holding that key.
//!
//! DataFusion 55 works out whether rows are ordered by an expression from
//! the orderings of its parts; a product, or a function's value, has no
//! known range, and a comparison of it with anything (`j < j * 2`,
//! `upper(s) >= 'b'`, and so any predicate holding one) failed to work
//! out at all. So the rows the planner had just sorted by that very key were
//! found unsorted, and the plan's sanity check refused the window: "does
//! not satisfy order requirements" (open class 6 of docs/reliability.md,
//! found by sqlfuzz). A column's ordering needs no such reasoning: each
//! computed key is projected under the window as a column, the window
//! partitions and orders by that column, and a projection above it leaves
//! the columns it had.

use std::sync::Arc;

use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result};
use datafusion::logical_expr::expr::{Sort, WindowFunction};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, Window};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

/// The name of the key columns the rule adds, each followed by its number.
const KEY_COLUMN: &str = "__morsel_window_key";

/// Computes each window's computed PARTITION BY and ORDER BY keys below it.
#[derive(Debug, Default)]
pub struct WindowKeysAsColumns;

impl OptimizerRule for WindowKeysAsColumns {
    fn name(&self) -> &str {
        "window_keys_as_columns"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Window(window) = &plan else {
            return Ok(Transformed::no(plan));
        };
        let Some(functions) = functions(window) else {
            return Ok(Transformed::no(plan));
        };
        let keys = computed_keys(&functions);
        if keys.is_empty() {
            return Ok(Transformed::no(plan));
        }
        let named: Vec<(Expr, String)> = keys
            .into_iter()
            .map(|key| (key, config.alias_generator().next(KEY_COLUMN)))
            .collect();
        over_key_columns(window, &functions, &named).map(Transformed::yes)
    }
}

/// The window functions of `window`, each with the name of its column;
/// `None` if it computes anything else.
fn functions(window: &Window) -> Option<Vec<(&WindowFunction, String)>> {
    fn function(expr: &Expr) -> Option<&WindowFunction> {
        match expr {
            Expr::WindowFunction(function) => Some(function),
            _ => None,
        }
    }
    window
        .window_expr
        .iter()
        .map(|expr| {
            let name = expr.schema_name().to_string();
            match expr {
                Expr::Alias(alias) => function(&alias.expr).map(|f| (f, name)),
                _ => function(expr).map(|f| (f, name)),
            }
        })
        .collect()
}

/// The distinct PARTITION BY and ORDER BY keys of `functions` that are
/// neither a column nor a constant.
fn computed_keys(functions: &[(&WindowFunction, String)]) -> Vec<Expr> {
    let mut keys: Vec<Expr> = Vec::new();
    for (function, _) in functions {
        let params = &function.params;
        let order = params.order_by.iter().map(|sort| &sort.expr);
        for key in params.partition_by.iter().chain(order) {
            let computed = !matches!(key, Expr::Column(_) | Expr::Literal(..));
            if computed && !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }
    keys
}

/// `window` over its input with each of `keys` as the column of its name,
/// and its own columns on top.
fn over_key_columns(
    window: &Window,
    functions: &[(&WindowFunction, String)],
    keys: &[(Expr, String)],
) -> Result<LogicalPlan> {
    let input_columns = window
        .input
        .schema()
        .columns()
        .into_iter()
        .map(Expr::Column);
    let key_columns = keys.iter().map(|(key, name)| key.clone().alias(name));
    let input = LogicalPlanBuilder::from(Arc::clone(&window.input))
        .project(input_columns.chain(key_columns))?
        .build()?;
    let window_exprs = functions
        .iter()
        .map(|(function, name)| {
            Expr::WindowFunction(Box::new(over_columns(function, keys))).alias(name)
        })
        .collect();
    let rewritten = LogicalPlan::Window(Window::try_new(window_exprs, Arc::new(input))?);
    let own_columns = window.schema.columns().into_iter().map(Expr::Column);
    LogicalPlanBuilder::from(rewritten)
        .project(own_columns)?
        .build()
}

/// `function` partitioned and ordered by the key columns in place of the
/// keys they hold.
fn over_columns(function: &WindowFunction, keys: &[(Expr, String)]) -> WindowFunction {
    let column_of = |expr: &Expr| match keys.iter().find(|(key, _)| key == expr) {
        Some((_, name)) => Expr::Column(Column::from_name(name)),
        None => expr.clone(),
    };
    let mut function = function.clone();
    let params = &mut function.params;
    params.partition_by = params.partition_by.iter().map(column_of).collect();
    params.order_by = params
        .order_by
        .iter()
        .map(|sort| Sort {
            expr: column_of(&sort.expr),
            ..sort.clone()
        })
        .collect();
    function
}
