-- TPC-H Q11: important stock identification (NATION = GERMANY, FRACTION = 0.0001 / SF)
-- The literal 0.0001000000 below is the fraction for SF 1; `morsel bench tpch`
-- replaces it with 0.0001 / SF for the scale factor of the data it runs on.
select
    ps_partkey,
    sum(ps_supplycost * ps_availqty) as value
from partsupp, supplier, nation
where
    ps_suppkey = s_suppkey
    and s_nationkey = n_nationkey
    and n_name = 'GERMANY'
group by ps_partkey
having sum(ps_supplycost * ps_availqty) > (
    select sum(ps_supplycost * ps_availqty) * 0.0001000000
    from partsupp, supplier, nation
    where
        ps_suppkey = s_suppkey
        and s_nationkey = n_nationkey
        and n_name = 'GERMANY'
)
order by value desc;
