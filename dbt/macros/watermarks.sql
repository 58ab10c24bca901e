{#- Watermarks: how far each model has seen raw
    -------------------------------------------
    A model's watermark is a raw `_replicated_at` through which every replicated row is reflected in
    it; its next incremental run looks at the raw rows replicated after it (macros/incremental.sql).

    Why not "the newest `_replicated_at` its inputs held": the inputs are built at different moments
    while raw keeps replicating (and Dagster or `dbt run -s` may rebuild only some of them), so a row
    replicated after one input was built can be older than the newest row of another; it would be
    missed for good. A time lookback only narrows that window, and re-does everything replicated in it
    on every run (after a backlog replicated in minutes: everything). Instead:
    - on-run-start records the run's start on the warehouse clock (the one `_replicated_at` uses);
      every raw row replicated before it, less `incremental_lookback_seconds` for an insert still
      being committed, is visible to everything the run reads;
    - a model reflects raw through the earlier of that and its input models' own watermarks (an input
      built by an earlier run reflects less);
    - every model's post-hook records its watermark (`dbt_meta.model_watermarks`, the newest kept);
      a model that failed records nothing, so its next run looks back from its last success.
    A model with no record (never built since this table existed) looks back to the epoch: a full
    recompute through the incremental path, slow but exact. -#}

{% macro watermark_runs_relation() -%}`dbt_meta`.`runs`{%- endmacro %}
{% macro model_watermarks_relation() -%}`dbt_meta`.`model_watermarks`{%- endmacro %}

{#- on-run-start (dbt_project.yml). -#}
{% macro start_watermark_run() -%}
    {%- if execute -%}
        {%- do run_query('create database if not exists dbt_meta') -%}
        {%- do run_query('create table if not exists ' ~ watermark_runs_relation()
                         ~ " (invocation_id String, started_at DateTime64(3, 'UTC'))"
                         ~ ' engine = MergeTree order by started_at ttl toDateTime(started_at) + interval 30 day') -%}
        {%- do run_query('create table if not exists ' ~ model_watermarks_relation()
                         ~ " (model String, reflected_through DateTime64(3, 'UTC'), invocation_id String)"
                         ~ ' engine = ReplacingMergeTree(reflected_through) order by model') -%}
    {%- endif -%}
    insert into {{ watermark_runs_relation() }} select '{{ invocation_id }}', now64(3)
{%- endmacro %}

{#- The model identifiers this model reads (its ref()s). -#}
{% macro watermark_inputs() -%}
    {%- set inputs = [] -%}
    {%- if execute -%}
        {%- for unique_id in model.depends_on.nodes if unique_id.startswith('model.') and unique_id in graph.nodes -%}
            {%- set node = graph.nodes[unique_id] -%}
            {%- do inputs.append(node.alias or node.name) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(inputs | unique | list) }}
{%- endmacro %}

{#- This run's watermark for this model: the `_source_watermark` its rows carry, and what the
    post-hook records. -#}
{% macro reflected_through() -%}
    arrayMin([
        (select max(started_at) from {{ watermark_runs_relation() }} where invocation_id = '{{ invocation_id }}')
            - toIntervalMillisecond({{ (var('incremental_lookback_seconds') * 1000) | int }})
        {%- for input in watermark_inputs() %},
        {{ model_watermark(input) }}
        {%- endfor %}
    ])
{%- endmacro %}

{#- A model's recorded watermark (the epoch when it has none). -#}
{% macro model_watermark(identifier) -%}
    (select max(reflected_through) from {{ model_watermarks_relation() }} where model = '{{ identifier }}')
{%- endmacro %}

{#- Post-hook of every model (dbt_project.yml). -#}
{% macro record_watermark() -%}
    insert into {{ model_watermarks_relation() }}
    select '{{ this.identifier }}', {{ reflected_through() }}, '{{ invocation_id }}'
{%- endmacro %}
