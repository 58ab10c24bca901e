{#- Incremental facts and late-arriving data
    ------------------------------------------
    A late remittance, payment or status move changes facts about old claims and old days. Each
    incremental fact stores `_source_watermark`, the newest raw `_replicated_at` it has seen. On the
    next run it finds every raw row (every version, deletes included, so moved and removed rows
    count too) replicated after that watermark minus a lookback (rows may become visible slightly
    out of order), maps them to the partitions they touch, recomputes those partitions whole and
    swaps them in (`insert_overwrite` = ALTER TABLE ... REPLACE PARTITION). Recomputing a partition
    is idempotent, so overlap and re-delivery are harmless. -#}

{% macro source_watermark(tables) -%}
    assumeNotNull((
        select max(loaded_at)
        from (
            {%- for table in tables %}
            select max(_replicated_at) as loaded_at from {{ source('ops', table) }}
            {%- if not loop.last %} union all{% endif %}
            {%- endfor %}
        )
    ))
{%- endmacro %}

{#- Raw rows replicated since the previous build of this model (all versions, deletes included). -#}
{% macro changed_rows(table, columns='id') -%}
    select {{ columns }}
    from {{ source('ops', table) }}
    where _replicated_at > (
        select max(_source_watermark) - toIntervalMinute({{ var('incremental_lookback_minutes') }})
        from {{ this }}
    )
{%- endmacro %}

{#- Reference data every fact depends on (a facility's timezone shifts local dates; a payer's kind
    decides self-pay): any change to it recomputes every partition. -#}
{% macro reference_data_changed() -%}
    (
        (select count() from ({{ changed_rows('facilities') }})) > 0
        or (select count() from ({{ changed_rows('payers') }})) > 0
    )
{%- endmacro %}

{#- Claims touched by any raw change since the previous build (ids of deleted rows included). -#}
{% macro changed_claim_ids() -%}
    {{ changed_rows('claims') }}
    union distinct
    {{ changed_rows('claim_lines', 'claim_id') }}
    union distinct
    {{ changed_rows('claim_status_events', 'claim_id') }}
    union distinct
    {{ changed_rows('remittances', 'claim_id') }}
    union distinct
    {{ changed_rows('remittance_adjustments', 'claim_id') }}
    union distinct
    select assumeNotNull(claim_id) from ({{ changed_rows('payments', 'claim_id') }}) where claim_id is not null
    union distinct
    select assumeNotNull(claim_id) from ({{ changed_rows('adjustments', 'claim_id') }}) where claim_id is not null
    union distinct
    select id from {{ source('ops', 'claims') }}
    where encounter_id in ({{ changed_rows('encounters') }})
{%- endmacro %}

{#- Every date of service a set of claims has ever had (old versions too: a moved claim must leave
    its old partition). -#}
{% macro claim_service_months(claim_ids_sql) -%}
    select distinct toYYYYMM(toDate(date_of_service)) as month
    from {{ source('ops', 'encounters') }}
    where id in (
        select encounter_id from {{ source('ops', 'claims') }} where id in ({{ claim_ids_sql }})
    )
{%- endmacro %}

{#- The first day whose A/R snapshot a raw change since the previous build can alter (UTC date − 1
    covers every facility timezone). Money rows and status moves are append-only in the operational
    store (a correction is a new row; a delete carries its last values), so the changed versions'
    own dates bound what moved; new or re-attributed claims reach back to their date of service. -#}
{% macro ar_first_changed_day() -%}
    (
        select minOrNull(day) - 1
        from (
            select toDate(received_at) as day from ({{ changed_rows('payments', 'received_at') }})
            union all
            select toDate(received_at) from ({{ changed_rows('remittances', 'received_at') }})
            union all
            select toDate(received_at) from {{ source('ops', 'remittances') }}
            where id in ({{ changed_rows('remittance_adjustments', 'remittance_id') }})
            union all
            select toDate(least(coalesce(posted_at, created_at), created_at))
            from ({{ changed_rows('adjustments', 'posted_at, created_at') }})
            union all
            select toDate(occurred_at) from ({{ changed_rows('claim_status_events', 'occurred_at') }})
            union all
            -- a coverage change can turn visits self-pay or insured from its effective date
            select toDate(effective_from) from {{ source('ops', 'coverages') }}
            where id in ({{ changed_rows('coverages') }})
            union all
            -- claims created, deleted or re-attributed (not just moved along their status machine),
            -- changed charge lines, and encounters whose date of service moved: from the date of service
            select toDate(date_of_service)
            from {{ source('ops', 'encounters') }}
            where id in ({{ changed_rows('encounters') }})
               or id in ({{ changed_rows('encounter_lines', 'encounter_id') }})
               or id in (
                   select encounter_id from {{ source('ops', 'claims') }}
                   where id in (
                       select id from ({{ changed_rows('claims') }})
                       where id not in ({{ changed_rows('claim_status_events', 'claim_id') }})
                       union distinct
                       {{ changed_rows('claim_lines', 'claim_id') }}
                   )
               )
        )
    )
{%- endmacro %}

{#- Months (partitions) holding any of `changed_keys_sql`'s keys, now (in `current_cte`) or as the
    previous build left them (in this table): a moved or deleted row must leave its old month.
    Reference-data changes select every month. -#}
{% macro affected_months(current_cte, key, month_expression, changed_keys_sql) -%}
    select {{ month_expression }} as month
    from {{ current_cte }}
    where {{ key }} in ({{ changed_keys_sql }})
       or {{ reference_data_changed() }}
    union distinct
    select {{ month_expression }} as month
    from {{ this }}
    where {{ key }} in ({{ changed_keys_sql }})
{%- endmacro %}

{#- Post-hook of the entity-grain incremental facts. REPLACE PARTITION only swaps partitions the new
    data has rows in, so a partition emptied by a delete or a move keeps its stale rows; this removes
    them: rows whose entity no longer exists upstream, and the older copy of an entity that moved to
    another partition (its new copy carries the newer _source_watermark). A lightweight delete. -#}
{% macro delete_stale_rows(key, upstream, upstream_key=none) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where {{ key }} not in (select {{ upstream_key or key }} from {{ upstream }})
       or ({{ key }}, _source_watermark) not in (
           select {{ key }}, max(_source_watermark) from {{ this }} group by {{ key }}
       )
    settings allow_nondeterministic_mutations = 1, lightweight_deletes_sync = 2
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
