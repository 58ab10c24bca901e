{#- "Today" for the build: var('as_of_date') when pinned (tests, backfills), else the server's date. -#}
{% macro as_of_date() -%}
    {%- if var('as_of_date', none) -%}
        toDate('{{ var("as_of_date") }}')
    {%- else -%}
        today()
    {%- endif -%}
{%- endmacro %}

{#- The facility-local calendar date of a UTC timestamp. toDate(ts, tz) needs a constant zone;
    toString(ts, tz) accepts one per row, so each facility's own timezone is honoured. -#}
{% macro local_date(timestamp, timezone) -%}
    toDate(substring(toString({{ timestamp }}, {{ timezone }}), 1, 10))
{%- endmacro %}

{#- The facility-local wall-clock time of a UTC timestamp, labelled UTC (for arithmetic against
    local schedule templates only; never compare it with a real UTC timestamp). -#}
{% macro local_datetime(timestamp, timezone) -%}
    toDateTime64(toString({{ timestamp }}, {{ timezone }}), 6, 'UTC')
{%- endmacro %}

{#- KPIS.md aging buckets: age in days since the date of service. -#}
{% macro aging_bucket(age_days) -%}
    multiIf(
        {{ age_days }} <= 30, '0-30',
        {{ age_days }} <= 60, '31-60',
        {{ age_days }} <= 90, '61-90',
        {{ age_days }} <= 120, '91-120',
        '121+'
    )
{%- endmacro %}
