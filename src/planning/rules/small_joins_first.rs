//! Rule: the joins of a tree of inner joins run smallest first.
//!
//! DataFusion joins the tables of a `FROM` list in the order they are
//! written, and TPC-H writes the big tables first: Q7 joins 1.8 million
//! lineitem rows (SF 1) with every supplier, then with orders, then with
//! customers, and only at the end with the two nations that keep one row
//! in twelve. This rule takes a tree of inner equi-joins apart into its
//! inputs, keys and conditions, and joins the inputs again greedily
//! (greedy operator ordering, Fegaras 1998): at each step the two parts
//! whose join is estimated to keep the fewest rows, the smaller part on
//! the left, the side DataFusion builds its hash table from. Q7 then joins
//! nation with supplier first, and lineitem meets 800 suppliers, not 10,000.
//!
//! A join on keys `a = b` is estimated to keep |A|·|B| / max(d(A), d(B))
//! rows (`planning::estimates`), where each side's distinct keys d are at
//! most its rows and at most the distinct values of the smaller of the two
//! key columns in its table: a foreign key holds no value its primary key
//! lacks. The new order replaces the written one only when every input has
//! an estimate and the rows all its joins keep add up to under three
//! quarters of the written order's: a tree the estimates cannot judge, or
//! judge close, stays as written (and a second optimizer pass, finding the
//! greedy order already there, leaves it). Inner joins commute and
//! associate, so every order gives the same rows; each condition goes to
//! the first join that has its columns, and a projection gives the columns
//! in the written order.

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchema, NullEquality, Result};
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{
    Expr, Filter, Join, JoinConstraint, JoinType, LogicalPlan, Projection,
};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use std::sync::Arc;

use crate::planning::estimates;

/// Rebuilds trees of inner joins to join the smallest parts first.
#[derive(Debug, Default)]
pub struct SmallJoinsFirst;

impl OptimizerRule for SmallJoinsFirst {
    fn name(&self) -> &str {
        "small_joins_first"
    }

    // The rule walks the plan itself: a tree it rebuilds is not visited
    // again join by join.
    fn rewrite(
        &self,
        plan: LogicalPlan,
        _: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        plan.transform_down(reorder_join_tree)
    }
}

/// A rebuilt join tree over its inputs made smallest first, its inputs'
/// own trees rebuilt too; `plan` when it is not the root of such a tree
/// or the written order is as good.
fn reorder_join_tree(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    if !matches!(&plan, LogicalPlan::Join(join) if is_reorderable(join)) {
        return Ok(Transformed::no(plan));
    }
    let mut graph = JoinGraph::default();
    let Some(written) = graph.take_apart(&plan) else {
        return Ok(Transformed::no(plan));
    };
    if graph.inputs.len() < 3 {
        return Ok(Transformed::no(plan));
    }
    let Some(greedy) = graph.greedy_order() else {
        return Ok(Transformed::no(plan));
    };
    if greedy.cost >= written.cost * 0.75 {
        return Ok(Transformed::no(plan));
    }
    let inputs = std::mem::take(&mut graph.inputs)
        .into_iter()
        .map(|input| input.transform_down(reorder_join_tree).map(|t| t.data))
        .collect::<Result<Vec<_>>>()?;
    let rebuilt = graph.build(&greedy.steps, inputs)?;
    let columns = plan
        .schema()
        .columns()
        .into_iter()
        .map(Expr::Column)
        .collect();
    let projected = LogicalPlan::Projection(Projection::try_new(columns, Arc::new(rebuilt))?);
    Ok(Transformed::new(projected, true, TreeNodeRecursion::Jump))
}

/// An inner join on equal keys that NULLs never match, the joins this rule
/// orders.
fn is_reorderable(join: &Join) -> bool {
    join.join_type == JoinType::Inner
        && !join.on.is_empty()
        && join.null_equality == NullEquality::NullEqualsNothing
        && !join.null_aware
        && !join.filter.as_ref().is_some_and(has_subquery_or_volatile)
}

fn has_subquery_or_volatile(expr: &Expr) -> bool {
    expr.is_volatile()
        || expr
            .exists(|e| {
                Ok(matches!(
                    e,
                    Expr::ScalarSubquery(_)
                        | Expr::Exists(_)
                        | Expr::InSubquery(_)
                        | Expr::SetComparison(_)
                ))
            })
            .unwrap_or(true)
}

/// Whether `plan` is a reorderable join under filters and projections of
/// plain columns, which this rule takes apart with it.
fn is_join_tree(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Join(join) => is_reorderable(join),
        LogicalPlan::Filter(filter) => {
            !has_subquery_or_volatile(&filter.predicate) && is_join_tree(&filter.input)
        }
        LogicalPlan::Projection(projection) => {
            projection.expr.iter().all(|e| matches!(e, Expr::Column(_)))
                && is_join_tree(&projection.input)
        }
        _ => false,
    }
}

/// The inputs of a join tree, the keys that join them and the other
/// conditions on them.
#[derive(Default)]
struct JoinGraph {
    inputs: Vec<LogicalPlan>,
    /// Each input's estimated rows.
    rows: Vec<f64>,
    /// Keys that the joins make equal, in classes: `a = b` and `b = c`
    /// make one class, which also joins `a`'s input with `c`'s.
    classes: Vec<KeyClass>,
    conditions: Vec<Expr>,
}

/// Key expressions that the joins make equal.
struct KeyClass {
    /// Each expression and the input whose columns it names.
    members: Vec<(Expr, usize)>,
    /// The distinct values the smallest key column holds in its table.
    distinct: f64,
}

impl KeyClass {
    /// The inputs of its members, as a part's set.
    fn inputs(&self) -> u64 {
        self.members
            .iter()
            .fold(0, |set, (_, input)| set | 1 << input)
    }

    /// A member from each side, when both have one.
    fn pair(&self, left: u64, right: u64) -> Option<(Expr, Expr)> {
        let from = |side: u64| {
            self.members
                .iter()
                .find(|(_, input)| side & (1 << input) != 0)
                .map(|(expr, _)| expr.clone())
        };
        Some((from(left)?, from(right)?))
    }
}

/// A set of inputs joined: its estimated rows, and the rows all its joins
/// keep, added up.
#[derive(Clone, Copy)]
struct Part {
    inputs: u64,
    rows: f64,
    cost: f64,
}

/// Which parts join in which order: each step joins two earlier entries
/// (`Step::Input` for an input).
enum Step {
    Input(usize),
    Join(usize, usize),
}

struct Order {
    steps: Vec<Step>,
    cost: f64,
}

/// Each input is one bit of a part's set.
const MAX_INPUTS: usize = 64;

impl JoinGraph {
    /// Adds `plan`'s inputs, keys and conditions; the part it is, as
    /// written. `None` when an input has no estimate or a key does not
    /// compare one input with another.
    fn take_apart(&mut self, plan: &LogicalPlan) -> Option<Part> {
        match plan {
            LogicalPlan::Join(join) if is_reorderable(join) => {
                let left = self.take_apart(&join.left)?;
                let right = self.take_apart(&join.right)?;
                for (l, r) in &join.on {
                    if !self.add_key(l, r) {
                        return None;
                    }
                }
                if let Some(filter) = &join.filter {
                    self.conditions
                        .extend(split_conjunction(filter).into_iter().cloned());
                }
                self.joined(&left, &right)
            }
            LogicalPlan::Filter(filter) if is_join_tree(plan) => {
                self.conditions
                    .extend(split_conjunction(&filter.predicate).into_iter().cloned());
                self.take_apart(&filter.input)
            }
            LogicalPlan::Projection(projection) if is_join_tree(plan) => {
                self.take_apart(&projection.input)
            }
            _ => {
                let rows = estimates::rows(plan)?;
                if self.inputs.len() == MAX_INPUTS {
                    return None;
                }
                self.inputs.push(plan.clone());
                self.rows.push(rows);
                Some(Part {
                    inputs: 1 << (self.inputs.len() - 1),
                    rows,
                    cost: 0.0,
                })
            }
        }
    }

    /// Adds `left = right` to the key classes, merging the classes of
    /// its sides; `false` when a side's columns are not all from one input
    /// or both sides are from the same one.
    fn add_key(&mut self, left: &Expr, right: &Expr) -> bool {
        let (Some(l), Some(r)) = (self.owner(left), self.owner(right)) else {
            return false;
        };
        if l == r {
            return false;
        }
        let mut merged = KeyClass {
            members: vec![],
            distinct: f64::INFINITY,
        };
        for (expr, input) in [(left, l), (right, r)] {
            match self
                .classes
                .iter()
                .position(|c| c.members.iter().any(|(e, _)| e == expr))
            {
                Some(found) => {
                    let class = self.classes.swap_remove(found);
                    merged.distinct = merged.distinct.min(class.distinct);
                    merged.members.extend(class.members);
                }
                None => {
                    merged.distinct = merged.distinct.min(self.distinct(input, expr));
                    merged.members.push((expr.clone(), input));
                }
            }
        }
        self.classes.push(merged);
        true
    }

    /// The distinct values of `expr`, a key of `input`: its column's in
    /// its table, or the input's rows.
    fn distinct(&self, input: usize, expr: &Expr) -> f64 {
        match expr {
            Expr::Column(column) => estimates::distinct(&self.inputs[input], column),
            _ => None,
        }
        .unwrap_or(self.rows[input])
    }

    /// The one input whose columns `expr` names.
    fn owner(&self, expr: &Expr) -> Option<usize> {
        let columns = expr.column_refs();
        let mut owners = self
            .inputs
            .iter()
            .enumerate()
            .filter(|(_, input)| columns.iter().all(|c| input.schema().has_column(c)))
            .map(|(i, _)| i);
        match (owners.next(), owners.next()) {
            (Some(owner), None) if !columns.is_empty() => Some(owner),
            _ => None,
        }
    }

    /// The key classes with members in both parts.
    fn classes_between(&self, a: u64, b: u64) -> impl Iterator<Item = &KeyClass> {
        self.classes
            .iter()
            .filter(move |class| class.inputs() & a != 0 && class.inputs() & b != 0)
    }

    /// `a` joined with `b` on the keys between them; `None` when none is.
    fn joined(&self, a: &Part, b: &Part) -> Option<Part> {
        let divisor = self
            .classes_between(a.inputs, b.inputs)
            .map(|class| a.rows.min(class.distinct).max(b.rows.min(class.distinct)))
            .reduce(f64::max)?;
        let rows = (a.rows * b.rows / divisor.max(1.0)).max(1.0);
        Some(Part {
            inputs: a.inputs | b.inputs,
            rows,
            cost: a.cost + b.cost + rows,
        })
    }

    /// The greedy order: while more than one part is left, the two that
    /// join into the fewest rows join, the smaller on the left. `None` when
    /// the parts fall apart into groups no key joins.
    fn greedy_order(&self) -> Option<Order> {
        let mut steps: Vec<Step> = (0..self.inputs.len()).map(Step::Input).collect();
        let mut parts: Vec<(usize, Part)> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, &rows)| {
                (
                    i,
                    Part {
                        inputs: 1 << i,
                        rows,
                        cost: 0.0,
                    },
                )
            })
            .collect();
        while parts.len() > 1 {
            let mut best: Option<(usize, usize, Part)> = None;
            for i in 0..parts.len() {
                for j in i + 1..parts.len() {
                    let Some(joined) = self.joined(&parts[i].1, &parts[j].1) else {
                        continue;
                    };
                    if best.is_none_or(|(_, _, b)| joined.rows < b.rows) {
                        best = Some((i, j, joined));
                    }
                }
            }
            let (i, j, joined) = best?;
            let (b, a) = (parts.remove(j), parts.remove(i));
            let (left, right) = if b.1.rows < a.1.rows { (b, a) } else { (a, b) };
            steps.push(Step::Join(left.0, right.0));
            parts.push((steps.len() - 1, joined));
        }
        Some(Order {
            steps,
            cost: parts[0].1.cost,
        })
    }

    /// The plan `steps` make of `inputs`, each condition on the first join
    /// that has its columns.
    fn build(&mut self, order: &[Step], inputs: Vec<LogicalPlan>) -> Result<LogicalPlan> {
        let mut built: Vec<Option<(LogicalPlan, u64)>> = Vec::with_capacity(order.len());
        let mut inputs = inputs.into_iter().map(Some).collect::<Vec<_>>();
        for step in order {
            let entry = match *step {
                Step::Input(i) => (inputs[i].take().expect("each input once"), 1u64 << i),
                Step::Join(l, r) => {
                    let (left, l_set) = built[l].take().expect("each part once");
                    let (right, r_set) = built[r].take().expect("each part once");
                    let join = self.join(left, l_set, right, r_set)?;
                    (join, l_set | r_set)
                }
            };
            built.push(Some(entry));
        }
        let (plan, _) = built.pop().flatten().expect("the last step joins all");
        match conjunction(std::mem::take(&mut self.conditions)) {
            Some(rest) => Ok(LogicalPlan::Filter(Filter::try_new(rest, Arc::new(plan))?)),
            None => Ok(plan),
        }
    }

    /// `left` joined with `right` on one key of each class between them
    /// (within each part a class's members are equal already), with the
    /// conditions not yet placed that need both.
    fn join(
        &mut self,
        left: LogicalPlan,
        l_set: u64,
        right: LogicalPlan,
        r_set: u64,
    ) -> Result<LogicalPlan> {
        let on = self
            .classes_between(l_set, r_set)
            .filter_map(|class| class.pair(l_set, r_set))
            .collect();
        let schema = DFSchema::empty()
            .join(left.schema())?
            .join(right.schema())?;
        let (placed, pending): (Vec<Expr>, Vec<Expr>) = std::mem::take(&mut self.conditions)
            .into_iter()
            .partition(|condition| condition.column_refs().iter().all(|c| schema.has_column(c)));
        self.conditions = pending;
        Ok(LogicalPlan::Join(Join::try_new(
            Arc::new(left),
            Arc::new(right),
            on,
            conjunction(placed),
            JoinType::Inner,
            JoinConstraint::On,
            NullEquality::NullEqualsNothing,
            false,
        )?))
    }
}
