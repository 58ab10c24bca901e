{#- Staging dedupe check, independent of FINAL: the model has exactly one row per id whose latest
    raw version (argMax by _version, re-deliveries included) is not a delete. -#}
{% test matches_live_raw_rows(model, column_name, source_table) %}
    with

    live as (
        select id
        from {{ source('ops', source_table) }}
        group by id
        having argMax(_deleted, _version) = 0
    ),

    staged as (
        select {{ column_name }} as id from {{ model }}
    )

    select 'missing from staging' as problem, id from live where id not in (select id from staged)
    union all
    select 'not live in raw' as problem, id from staged where id not in (select id from live)
{% endtest %}
