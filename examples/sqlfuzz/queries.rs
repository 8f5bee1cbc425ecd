//! Random queries over the fuzzer's tables, typed as they are built so
//! every one is valid in both engines.
//!
//! Left out on purpose, because the two dialects answer them differently
//! and neither is wrong (each such difference is listed in
//! docs/reliability.md):
//! - `/` and `%`: DuckDB divides integers into a DOUBLE, DataFusion (like
//!   PostgreSQL) into an integer;
//! - casts from a fractional number to an integer (DuckDB rounds,
//!   DataFusion truncates), `round`, and `substr` from positions below 1;
//! - order-dependent functions: `row_number`, `lag`, `lead`, `first_value`,
//!   `string_agg`, `array_agg`, and LIMIT without an ORDER BY of every
//!   column;
//! - `LIKE` patterns with a backslash (DataFusion escapes with it by
//!   default, DuckDB does not);
//! - integers large enough to overflow: DuckDB widens `sum` to HUGEINT
//!   where morsel refuses the total (both refuse `+`, `-`, `*`);
//! - `avg` of a decimal: DuckDB's is a DOUBLE, DataFusion's a decimal of
//!   four more places, so they differ past those;
//! - `upper('ß')`: `SS` in DataFusion (Unicode's full mapping), `ẞ` in
//!   DuckDB; the tables hold no `ß`.

use rand::Rng;
use rand::rngs::StdRng;

use crate::data::{Table, Ty};

/// A query, and for those the ternary-logic oracle can split, the parts
/// to split: `SELECT {select} FROM {from}` and a predicate.
pub struct Query {
    pub sql: String,
    pub split: Option<Split>,
}

pub struct Split {
    pub select: String,
    pub from: String,
    pub predicate: String,
}

impl Split {
    /// `q WHERE p`, `q WHERE NOT p` and `q WHERE p IS NULL`: together they
    /// hold every row of `q` exactly once.
    pub fn parts(&self) -> [String; 3] {
        let q = format!("SELECT {} FROM {}", self.select, self.from);
        let p = &self.predicate;
        [
            format!("{q} WHERE {p}"),
            format!("{q} WHERE NOT ({p})"),
            format!("{q} WHERE ({p}) IS NULL"),
        ]
    }

    pub fn whole(&self) -> String {
        format!("SELECT {} FROM {}", self.select, self.from)
    }
}

/// The columns a clause can name, with their types.
#[derive(Clone, Default)]
struct Scope {
    columns: Vec<(String, Ty)>,
}

impl Scope {
    fn of(table: &Table, alias: &str) -> Self {
        Scope {
            columns: table
                .columns
                .iter()
                .map(|(name, ty)| (format!("{alias}.{name}"), *ty))
                .collect(),
        }
    }

    fn with(mut self, other: Scope) -> Self {
        self.columns.extend(other.columns);
        self
    }

    fn of_type(&self, ty: Ty) -> Vec<&str> {
        self.columns
            .iter()
            .filter(|(_, t)| *t == ty)
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

const STRINGS: [&str; 8] = ["", "a", "ab", "b", "B", "é", "日本", " x "];
const PATTERNS: [&str; 8] = ["a%", "%b", "_b%", "%", "", "a_b", "%é%", "_"];
const DATES: [&str; 4] = ["2023-01-03", "2024-01-01", "2024-01-04", "2025-12-31"];

pub struct Generator<'a> {
    rng: &'a mut StdRng,
    tables: &'a [Table],
}

impl<'a> Generator<'a> {
    pub fn new(rng: &'a mut StdRng, tables: &'a [Table]) -> Self {
        Self { rng, tables }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<T: Clone>(&mut self, from: &[T]) -> T {
        from[self.rng.random_range(0..from.len())].clone()
    }

    fn table(&mut self) -> &'a Table {
        let tables = self.tables;
        &tables[self.rng.random_range(0..tables.len())]
    }

    pub fn query(&mut self) -> Query {
        match self.rng.random_range(0..10) {
            0..=2 => self.plain(),
            3..=4 => self.aggregate(),
            5 => self.window(),
            6 => self.set_operation(),
            _ => self.joined(),
        }
    }

    /// `FROM t x`, or two tables joined, with the scope they make.
    fn from(&mut self) -> (String, Scope) {
        if self.chance(0.5) {
            let table = self.table();
            return (format!("{} x", table.name), Scope::of(table, "x"));
        }
        self.join()
    }

    /// Two tables joined, and sometimes a third joined to either: three
    /// inputs make a tree of inner joins that `small_joins_first` orders.
    fn join(&mut self) -> (String, Scope) {
        let (left, right) = (self.table(), self.table());
        let scope = Scope::of(left, "x").with(Scope::of(right, "y"));
        let kind = self.pick(&["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"]);
        let on = self.join_condition((left, "x"), (right, "y"), &scope);
        let from = format!("{} x {kind} {} y ON {on}", left.name, right.name);
        if !self.chance(0.3) {
            return (from, scope);
        }
        let third = self.table();
        let partner = if self.chance(0.5) {
            (left, "x")
        } else {
            (right, "y")
        };
        let scope = scope.with(Scope::of(third, "z"));
        let kind = self.pick(&["JOIN", "JOIN", "LEFT JOIN"]);
        let on = self.join_condition(partner, (third, "z"), &scope);
        (format!("{from} {kind} {} z ON {on}", third.name), scope)
    }

    /// An equality of keys, maybe with more, or a condition without one,
    /// between two tables under their aliases.
    fn join_condition(
        &mut self,
        (left, l_alias): (&Table, &str),
        (right, r_alias): (&Table, &str),
        scope: &Scope,
    ) -> String {
        let pairs: Vec<(String, String)> = left
            .columns
            .iter()
            .flat_map(|(l, lt)| {
                right
                    .columns
                    .iter()
                    .filter(move |(_, rt)| rt == lt || (lt.is_numeric() && rt.is_numeric()))
                    .map(move |(r, _)| (format!("{l_alias}.{l}"), format!("{r_alias}.{r}")))
            })
            .collect();
        let (l, r) = pairs[self.rng.random_range(0..pairs.len())].clone();
        match self.rng.random_range(0..6) {
            0 => format!("{l} < {r}"),
            1 => format!("{l} = {r} AND {}", self.predicate(scope, 1)),
            2 => format!("{l} IS NOT DISTINCT FROM {r}"),
            _ => format!("{l} = {r}"),
        }
    }

    fn plain(&mut self) -> Query {
        let table = self.table();
        let scope = Scope::of(table, "x");
        self.select_from(format!("{} x", table.name), scope)
    }

    fn joined(&mut self) -> Query {
        let (from, scope) = self.join();
        self.select_from(from, scope)
    }

    /// Expressions over `from`, filtered, maybe distinct, sorted and cut.
    fn select_from(&mut self, from: String, scope: Scope) -> Query {
        let exprs: Vec<String> = (0..1 + self.rng.random_range(0..3))
            .map(|_| {
                let ty = self.any_type();
                self.expr(ty, &scope, 2)
            })
            .collect();
        let select = aliased(&exprs);
        let predicate = self.where_predicate(&scope);
        if self.chance(0.2) {
            return Query {
                sql: format!(
                    "SELECT DISTINCT {select} FROM {from} WHERE {predicate}{}",
                    self.order_and_limit(exprs.len())
                ),
                split: None,
            };
        }
        Query {
            sql: format!("SELECT {select} FROM {from} WHERE {predicate}"),
            split: Some(Split {
                select,
                from,
                predicate,
            }),
        }
    }

    /// ` ORDER BY` every column, ` LIMIT n`, or nothing.
    fn order_and_limit(&mut self, columns: usize) -> String {
        if self.chance(0.5) {
            return String::new();
        }
        let keys: Vec<String> = (1..=columns)
            .map(|i| {
                let direction = self.pick(&["ASC", "DESC"]);
                let nulls = self.pick(&["NULLS FIRST", "NULLS LAST"]);
                format!("{i} {direction} {nulls}")
            })
            .collect();
        format!(
            " ORDER BY {} LIMIT {}",
            keys.join(", "),
            self.rng.random_range(0..6)
        )
    }

    fn aggregate(&mut self) -> Query {
        let (from, scope) = self.from();
        // Columns only: an integer literal in GROUP BY names a position.
        let groups: Vec<String> = (0..self.rng.random_range(0..3))
            .map(|_| self.pick(&scope.columns).0)
            .collect();
        let mut select: Vec<String> = groups.clone();
        for _ in 0..1 + self.rng.random_range(0..3) {
            select.push(self.aggregate_call(&scope));
        }
        let mut sql = format!(
            "SELECT {} FROM {from} WHERE {}",
            aliased(&select),
            self.where_predicate(&scope)
        );
        if !groups.is_empty() {
            sql += &format!(" GROUP BY {}", groups.join(", "));
            if self.chance(0.4) {
                let having = self.numeric_aggregate(&scope);
                let bound = self.rng.random_range(-3..4);
                sql += &format!(" HAVING {having} > {bound}");
            }
        }
        if self.chance(0.3) {
            sql += &self.order_and_limit(select.len());
        }
        Query { sql, split: None }
    }

    fn aggregate_call(&mut self, scope: &Scope) -> String {
        let numeric = self.numeric_type();
        match self.rng.random_range(0..10) {
            0 => "count(*)".to_string(),
            1 => {
                let ty = self.any_type();
                format!("count({})", self.expr(ty, scope, 1))
            }
            2 => {
                let ty = self.any_type();
                format!("count(DISTINCT {})", self.expr(ty, scope, 1))
            }
            3 => format!("sum({})", self.expr(numeric, scope, 1)),
            4 => format!("sum(DISTINCT {})", self.expr(Ty::Int, scope, 1)),
            5 => {
                let ty = self.pick(&[Ty::Int, Ty::Float]);
                format!("avg({})", self.expr(ty, scope, 1))
            }
            6 | 7 => {
                // Not of a DOUBLE: a group's min can be NaN (open).
                let ty = self.pick(&[Ty::Int, Ty::Dec, Ty::Str, Ty::Date]);
                let f = self.pick(&["min", "max"]);
                format!("{f}({})", self.expr(ty, scope, 1))
            }
            8 => format!("bool_and({})", self.predicate(scope, 1)),
            _ => format!("bool_or({})", self.predicate(scope, 1)),
        }
    }

    /// An aggregate with a numeric value, for `HAVING`.
    fn numeric_aggregate(&mut self, scope: &Scope) -> String {
        let numeric = self.pick(&[Ty::Int, Ty::Dec]);
        match self.rng.random_range(0..4) {
            0 => "count(*)".to_string(),
            1 => format!("count(DISTINCT {})", self.pick(&scope.columns).0),
            2 => format!("sum({})", self.expr(Ty::Int, scope, 1)),
            _ => format!("max({})", self.expr(numeric, scope, 1)),
        }
    }

    fn window(&mut self) -> Query {
        let (from, scope) = self.from();
        let ty = self.any_type();
        let column = self.expr(ty, &scope, 1);
        let partition = self.window_key(&scope);
        let order = self.window_key(&scope);
        let numeric = self.pick(&[Ty::Int, Ty::Dec]);
        let function = match self.rng.random_range(0..6) {
            0 => "rank()".to_string(),
            1 => "dense_rank()".to_string(),
            2 => "count(*)".to_string(),
            3 => format!("sum({})", self.expr(numeric, &scope, 1)),
            4 => format!("min({})", self.expr(numeric, &scope, 1)),
            _ => format!("max({})", self.expr(numeric, &scope, 1)),
        };
        let over = if self.chance(0.7) {
            format!("PARTITION BY {partition} ORDER BY {order} NULLS FIRST")
        } else {
            format!("PARTITION BY {partition}")
        };
        Query {
            sql: format!(
                "SELECT {column} AS c0, {function} OVER ({over}) AS c1 FROM {from} WHERE {}",
                self.where_predicate(&scope)
            ),
            split: None,
        }
    }

    /// A window's PARTITION BY or ORDER BY key: a column, an expression
    /// of one, or a predicate. Never a bare literal, which would be a
    /// constant in one engine and a position in the other.
    fn window_key(&mut self, scope: &Scope) -> String {
        let column = self.pick(&scope.columns).0.clone();
        let key = match self.rng.random_range(0..10) {
            0..6 => return column,
            6..8 => {
                let ty = self.any_type();
                self.expr(ty, scope, 1)
            }
            _ => self.predicate(scope, 1),
        };
        let names_a_column = scope
            .columns
            .iter()
            .any(|(name, _)| key.contains(name.as_str()));
        if names_a_column { key } else { column }
    }

    fn set_operation(&mut self) -> Query {
        let types: Vec<Ty> = (0..1 + self.rng.random_range(0..2))
            .map(|_| self.any_type())
            .collect();
        let side = |g: &mut Self| {
            let (from, scope) = g.from();
            let select: Vec<String> = types.iter().map(|ty| g.expr(*ty, &scope, 1)).collect();
            format!(
                "SELECT {} FROM {from} WHERE {}",
                aliased(&select),
                g.predicate(&scope, 1)
            )
        };
        let (left, right) = (side(self), side(self));
        // No INTERSECT ALL or EXCEPT ALL: morsel refuses them.
        let op = self.pick(&["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]);
        Query {
            sql: format!("({left}) {op} ({right})"),
            split: None,
        }
    }

    /// A `WHERE` predicate, sometimes with a subquery.
    fn where_predicate(&mut self, scope: &Scope) -> String {
        if self.chance(0.25) {
            self.subquery_predicate(scope)
        } else {
            self.predicate(scope, 2)
        }
    }

    /// `IN`, `NOT IN`, `EXISTS` (correlated), over a table or an aggregate,
    /// or a scalar subquery.
    fn subquery_predicate(&mut self, scope: &Scope) -> String {
        let inner = self.table();
        let inner_scope = Scope::of(inner, "z");
        let ty = self.pick(&[Ty::Int, Ty::Str, Ty::Float, Ty::Dec]);
        let outer = self.leaf(ty, scope);
        let candidates: Vec<&str> = inner_scope
            .columns
            .iter()
            .filter(|(_, t)| *t == ty || (ty.is_numeric() && t.is_numeric()))
            .map(|(n, _)| n.as_str())
            .collect();
        let Some(&inner_column) = candidates.get(self.rng.random_range(0..candidates.len().max(1)))
        else {
            return self.predicate(scope, 1);
        };
        let filter = self.predicate(&inner_scope, 1);
        let from = format!("{} z", inner.name);
        let count = self.rng.random_range(0..3);
        match self.rng.random_range(0..8) {
            0 => format!("{outer} IN (SELECT {inner_column} FROM {from} WHERE {filter})"),
            1 => format!("{outer} NOT IN (SELECT {inner_column} FROM {from} WHERE {filter})"),
            2 => {
                format!("EXISTS (SELECT 1 FROM {from} WHERE {inner_column} = {outer} AND {filter})")
            }
            3 => format!(
                "NOT EXISTS (SELECT 1 FROM {from} WHERE {inner_column} = {outer} AND {filter})"
            ),
            // A semi join on an aggregate's keys (semi_joins_down).
            4 => format!(
                "{outer} IN (SELECT {inner_column} FROM {from} WHERE {filter} \
                 GROUP BY {inner_column} HAVING count(*) > {count})"
            ),
            // An anti join on an aggregate's keys, with a condition.
            5 => format!(
                "NOT EXISTS (SELECT 1 FROM (SELECT {inner_column} AS k, count(*) AS n FROM {from} \
                 WHERE {filter} GROUP BY {inner_column}) g WHERE g.k = {outer} AND g.n > {count})"
            ),
            // An aggregate per outer row, joined on its key (joined_keys_only).
            6 => format!(
                "{outer} >= (SELECT min({inner_column}) FROM {from} \
                 WHERE {inner_column} = {outer} AND {filter})"
            ),
            _ => format!("{outer} > (SELECT min({inner_column}) FROM {from} WHERE {filter})"),
        }
    }

    fn any_type(&mut self) -> Ty {
        self.pick(&[Ty::Int, Ty::Dec, Ty::Float, Ty::Str, Ty::Date, Ty::Bool])
    }

    fn numeric_type(&mut self) -> Ty {
        self.pick(&[Ty::Int, Ty::Dec, Ty::Float])
    }

    /// A column of `ty` from `scope`, or a literal when it has none.
    fn leaf(&mut self, ty: Ty, scope: &Scope) -> String {
        let columns = scope.of_type(ty);
        if !columns.is_empty() && self.chance(0.8) {
            return self.pick(&columns).to_string();
        }
        self.literal(ty)
    }

    fn literal(&mut self, ty: Ty) -> String {
        match ty {
            Ty::Int => self.rng.random_range(-10..=10).to_string(),
            Ty::Dec => format!("{:.2}", self.rng.random_range(-40..=40) as f64 / 4.0),
            Ty::Float => format!(
                "CAST({:.2} AS DOUBLE)",
                self.rng.random_range(-40..=40) as f64 / 4.0
            ),
            Ty::Str => format!("'{}'", self.pick(&STRINGS)),
            Ty::Date => format!("DATE '{}'", self.pick(&DATES)),
            Ty::Bool => self.pick(&["TRUE", "FALSE", "NULL"]).to_string(),
        }
    }

    /// An expression of type `ty`, at most `depth` operators deep.
    fn expr(&mut self, ty: Ty, scope: &Scope, depth: u32) -> String {
        if depth == 0 || self.chance(0.4) {
            return self.leaf(ty, scope);
        }
        let d = depth - 1;
        match (ty, self.rng.random_range(0..6)) {
            (Ty::Bool, _) => self.predicate(scope, depth),
            (_, 0) => {
                let p = self.predicate(scope, d);
                let (a, b) = (self.expr(ty, scope, d), self.expr(ty, scope, d));
                format!("CASE WHEN {p} THEN {a} ELSE {b} END")
            }
            (_, 1) => {
                let (a, b) = (self.expr(ty, scope, d), self.expr(ty, scope, d));
                format!("coalesce({a}, {b})")
            }
            (Ty::Int, 2) => format!("length({})", self.expr(Ty::Str, scope, d)),
            (Ty::Int | Ty::Dec | Ty::Float, 3) => format!("abs({})", self.expr(ty, scope, d)),
            (Ty::Int | Ty::Dec | Ty::Float, _) => {
                let op = self.pick(&["+", "-", "*"]);
                let other = if ty == Ty::Int {
                    Ty::Int
                } else {
                    self.numeric_type()
                };
                let (a, b) = (self.expr(ty, scope, d), self.expr(other, scope, d));
                format!("({a} {op} {b})")
            }
            (Ty::Str, 2) => format!("upper({})", self.expr(Ty::Str, scope, d)),
            (Ty::Str, 3) => format!("lower({})", self.expr(Ty::Str, scope, d)),
            (Ty::Str, 4) => {
                let (a, b) = (self.expr(Ty::Str, scope, d), self.expr(Ty::Str, scope, d));
                format!("({a} || {b})")
            }
            (Ty::Str, _) => format!(
                "substr({}, {}, {})",
                self.expr(Ty::Str, scope, d),
                self.rng.random_range(1..4),
                self.rng.random_range(0..3)
            ),
            (Ty::Date, _) => self.leaf(Ty::Date, scope),
        }
    }

    /// A boolean expression, at most `depth` connectives deep.
    fn predicate(&mut self, scope: &Scope, depth: u32) -> String {
        if depth > 0 && self.chance(0.4) {
            let d = depth - 1;
            return match self.rng.random_range(0..3) {
                0 => format!("(NOT ({}))", self.predicate(scope, d)),
                1 => format!(
                    "({} AND {})",
                    self.predicate(scope, d),
                    self.predicate(scope, d)
                ),
                _ => format!(
                    "({} OR {})",
                    self.predicate(scope, d),
                    self.predicate(scope, d)
                ),
            };
        }
        let ty = self.any_type();
        let d = depth.min(1);
        let operand = |g: &mut Self| {
            let other = if ty.is_numeric() {
                g.numeric_type()
            } else {
                ty
            };
            g.expr(other, scope, d)
        };
        let a = self.expr(ty, scope, d);
        // Each comparison in parentheses: the dialects bind `IS DISTINCT
        // FROM` and chained comparisons differently (docs/reliability.md).
        let comparison = match self.rng.random_range(0..8) {
            0 => format!("{a} IS NULL"),
            1 => format!("{a} IS NOT NULL"),
            2 => {
                let (lo, hi) = (operand(self), operand(self));
                let not = self.pick(&["", "NOT "]);
                format!("{a} {not}BETWEEN {lo} AND {hi}")
            }
            3 => {
                let list: Vec<String> = (0..1 + self.rng.random_range(0..3))
                    .map(|_| self.literal(if ty.is_numeric() { Ty::Int } else { ty }))
                    .collect();
                let not = self.pick(&["", "NOT "]);
                format!("{a} {not}IN ({})", list.join(", "))
            }
            4 if ty == Ty::Str => {
                let not = self.pick(&["", "NOT "]);
                format!("{a} {not}LIKE '{}'", self.pick(&PATTERNS))
            }
            5 => format!("{a} IS DISTINCT FROM {}", operand(self)),
            _ => {
                let op = self.pick(&["=", "<>", "<", "<=", ">", ">="]);
                format!("{a} {op} {}", operand(self))
            }
        };
        format!("({comparison})")
    }
}

fn aliased(exprs: &[String]) -> String {
    exprs
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{e} AS c{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
