{#- Incremental models and late-arriving data
    -------------------------------------------
    Every layer is incremental, and an incremental run must equal a full rebuild. A run looks at the
    raw rows replicated after the model's watermark (macros/watermarks.sql): every version, deletes
    included, so old and new values both count (a moved or deleted row must leave its old place).
    Those rows name the keys (entities) the run recomputes; the pre-hook `stage_changed_keys()`
    stages them once in `<model>__changed_keys`, and the post-hook drops that table.

    - Staging and intermediate models (`append`): the pre-hook deletes the changed keys' rows (keys
      that no longer exist included), the body recomputes those keys whole from its inputs read for
      them only, and the rows are appended.
    - Entity facts, partitioned by month (`insert_overwrite` = ALTER TABLE ... REPLACE PARTITION):
      the body recomputes whole the months the changed keys are in now and were in at the last
      build; the post-hook drops a month a move or delete emptied. No mutation.
    - fct_claim_denials (`append`) is keyed by claim: a changed claim's denial rows are deleted and
      recomputed whole.
    - Aggregate facts (fct_provider_productivity, day x provider): the pre-hook
      `stage_changed_months()` stages the months a change can move in `<model>__changed_months`;
      the body recomputes those months whole and `drop_emptied_months()` drops one left empty.
    - fct_ar_aging_daily recomputes from the first day a change can move a balance.
    Recomputing is idempotent, so re-delivered rows and a watermark that lags are harmless. The raw
    tables have a minmax index on `_replicated_at` (warehouse/raw_schema.py) for these scans. -#}

{#- Raw rows replicated since the previous build of this model (all versions, deletes included). -#}
{% macro changed_rows(table, columns='id') -%}
    select {{ columns }}
    from {{ source('ops', table) }}
    where _replicated_at > {{ model_watermark(this.identifier) }}
{%- endmacro %}

{#- Values of a nullable column among the changed rows (every version), nulls dropped. -#}
{% macro changed_values(table, column) -%}
    select assumeNotNull({{ column }}) from ({{ changed_rows(table, column) }}) where {{ column }} is not null
{%- endmacro %}

{#- Reference data every model depends on (a facility's timezone shifts local dates; a payer's kind
    decides self-pay): any change to it recomputes everything. -#}
{% macro reference_data_changed(tables=['facilities', 'payers']) -%}
    (
        {%- for table in tables %}
        (select count() from ({{ changed_rows(table) }})) > 0{% if not loop.last %} or{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

{#- The keys a keyed incremental run recomputes are staged once, by the pre-hook, in a small table
    beside the model: its body, its deletes and its post-hook then agree on one set (a set computed
    twice could differ: raw keeps replicating during the run). The post-hook drops
    the table; one left by a run that failed half-way is added to the next run's keys. -#}
{% macro changed_keys_relation() -%}
    {{ staged_relation('__changed_keys') }}
{%- endmacro %}

{#- A table staged beside the model: `<model><suffix>`. -#}
{% macro staged_relation(suffix) -%}
    `{{ this.schema }}`.`{{ this.identifier }}{{ suffix }}`
{%- endmacro %}

{#- Whether an earlier run that failed half-way left `<model><suffix>`: dbt's relation cache, filled
    when the run started, answers without a statement (a few statements per model are most of an
    empty incremental run). -#}
{% macro left_over(suffix) -%}
    {{ return(adapter.get_relation(database=this.database, schema=this.schema,
                                   identifier=this.identifier ~ suffix) is not none) }}
{%- endmacro %}

{#- Stage `select_sql`'s rows in `<model><suffix>` (`structure`): one CREATE ... AS SELECT, or, when a
    failed run left the table, added to its rows. -#}
{% macro stage_rows(suffix, structure, select_sql) -%}
    {%- set relation = staged_relation(suffix) -%}
    {%- if left_over(suffix) -%}
        {%- do run_query('insert into ' ~ relation ~ ' select * from (' ~ select_sql ~ ')') -%}
    {%- else -%}
        {%- do run_query('create table ' ~ relation ~ ' ' ~ structure ~ ' as select * from (' ~ select_sql ~ ')') -%}
    {%- endif -%}
{%- endmacro %}

{#- Outside an incremental run: drop the staged table a failed run left, if any (else no statement). -#}
{% macro drop_left_over(suffix) -%}
    {%- if execute and left_over(suffix) %}{% do run_query('drop table if exists ' ~ staged_relation(suffix)) %}{% endif -%}
{%- endmacro %}

{#- An incremental run appends to a table a previous version of the model built: this run's body must
    select that table's columns (names and types, in order), or the run stops before it deletes or
    inserts anything and says to rebuild. It stands in for dbt's `on_schema_change: fail`, which
    dbt_project.yml turns off: dbt-clickhouse checks by running the body with `limit 0`, which ClickHouse
    executes as far as building its IN sets (0.17-0.26 s for each keyed intermediate model, about 1.8 s
    of a day's incremental run on the `large` practice), and only after the pre-hooks have deleted the
    changed keys' rows. DESCRIBE of the body plans it without running it. Called by the pre-hooks once
    their staged tables, which the body reads, exist. -#}
{% macro require_built_columns() -%}
    {%- if execute and is_incremental() and config.get('on_schema_change') == 'ignore' -%}
        {%- set built_columns = name_and_type(run_query("select name, type from system.columns where database = '"
                                  ~ this.schema ~ "' and table = '" ~ this.identifier ~ "' order by position")) -%}
        {%- set selected_columns = name_and_type(run_query('describe (' ~ sql ~ ')')) -%}
        {%- if built_columns != selected_columns -%}
            {%- set dropped = built_columns | reject('in', selected_columns) | list -%}
            {%- set added = selected_columns | reject('in', built_columns) | list -%}
            {{ exceptions.raise_compiler_error(this ~ " was built by another version of the model (columns it no "
                ~ "longer selects: " ~ (dropped | join(', ') or 'none') ~ "; columns it now selects: "
                ~ (added | join(', ') or 'none') ~ (', in another order' if not dropped and not added else '')
                ~ "): rebuild it once with `pms dbt run --full-refresh -s " ~ this.identifier ~ "`") }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- "name type" of each column a query result lists (system.columns' or DESCRIBE's first two columns). -#}
{% macro name_and_type(columns) -%}
    {%- set listed = [] -%}
    {%- for row in columns.rows %}{% do listed.append(row[0] ~ ' ' ~ row[1]) %}{% endfor -%}
    {{ return(listed) }}
{%- endmacro %}

{#- `column` is one of the keys this run recomputes: the filter of an incremental model's body. -#}
{% macro keyed_by(column) -%}
    {{ column }} in (select key from {{ changed_keys_relation() }})
{%- endmacro %}

{#- Pre-hook of every keyed incremental model: stage the changed keys (`keys_sql`, and every key of
    this table when reference data changed), then, with `delete_rows`, delete their rows (keys that no
    longer exist included) so that the body can append them recomputed. The delete is a lightweight
    delete, a mutation that costs every part of the table: it is skipped when no key has a row. With no
    key staged the body selects nothing, so the column check (two statements, one of which plans the
    body) is skipped too: most models of a run that follows little activity. The hook renders to
    nothing when there is no statement left to run (dbt skips an empty hook). -#}
{% macro stage_changed_keys(column, keys_sql, reference_tables=['facilities', 'payers'], delete_rows=true,
                            row_filter=none) -%}
    {%- set rows = row_filter or keyed_by(column) -%}
    {%- if execute and is_incremental() -%}
        {%- set staged -%}
            {{ keys_sql }}
            {%- if reference_tables %}
            union distinct
            select {{ column }} from {{ this }} where {{ reference_data_changed(reference_tables) }}
            {%- endif %}
        {%- endset -%}
        {%- do stage_rows('__changed_keys', '(key UUID) engine = MergeTree order by key', staged) -%}
        {%- set counts = run_query('select (select count() from ' ~ changed_keys_relation() ~ ')'
                                   ~ (', (select count() from ' ~ this ~ ' where ' ~ rows ~ ')' if delete_rows else '')).rows[0] -%}
        {%- if counts[0] > 0 %}{% do require_built_columns() %}{% endif -%}
        {%- if delete_rows and counts[1] > 0 -%}
    delete from {{ this }} where {{ rows }}
    settings allow_nondeterministic_mutations = 1, lightweight_deletes_sync = 2
        {%- endif -%}
    {%- else -%}
        {%- do drop_left_over('__changed_keys') -%}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of the staging and intermediate folders (dbt_project.yml): only an incremental run
    staged keys (empty otherwise: dbt skips an empty hook). -#}
{% macro drop_changed_keys() -%}
    {%- if is_incremental() -%}
    drop table if exists {{ changed_keys_relation() }}
    {%- endif -%}
{%- endmacro %}

{#- Staging: the raw table's live rows (`latest_versions()`), on incremental runs only those of ids
    changed since the watermark (raw is sorted by id, so FINAL reads only their granules). -#}
{% macro live_rows(table) -%}
    {{ latest_versions(source('ops', table)) }}
    {%- if is_incremental() %}
      and {{ keyed_by('id') }}
    {%- endif %}
{%- endmacro %}

{#- Pre-hook of every staging model (dbt_project.yml): stg_ops__<table> is keyed by its unique_key.
    A child table sorted by its parent's key (order_by '(claim_id, claim_status_event_id)'), so that
    the models reading it for some claims use its primary index, narrows its own lookups by id to the
    parents any version of those ids names (raw is sorted by id: a cheap read), for the same reason. -#}
{% macro stage_changed_staging_keys() -%}
    {%- set table = this.identifier.replace('stg_ops__', '', 1) -%}
    {%- set key = config.get('unique_key') -%}
    {%- set parent = config.get('order_by').strip('()').split(',')[0].strip() -%}
    {%- set rows = keyed_by(key) -%}
    {%- if parent != key -%}
        {%- set rows = parents_of(table, parent, 'select key from ' ~ changed_keys_relation()) ~ ' and ' ~ rows -%}
    {%- endif -%}
    {{ stage_changed_keys(key, changed_staging_ids(table, key, parent), [], row_filter=rows) }}
{%- endmacro %}

{#- The row's `parent` is one that some version (raw, deletes included) of the ids `ids_sql` names. -#}
{% macro parents_of(table, parent, ids_sql) -%}
    {{ parent }} in (select {{ parent }} from {{ source('ops', table) }} where id in ({{ ids_sql }}))
{%- endmacro %}

{#- The ids a staging model must replace: those replicated since its watermark whose staged row is
    not their newest version (by `_version`; a re-delivered copy may differ and is simply redone).
    The ids replicated in the lookback before the last run's start were mostly staged by that run;
    this check keeps them from being redone. -#}
{% macro changed_staging_ids(table, key, parent) -%}
    select raw_newest.id
    from (
        select
            id,
            argMax(_replicated_at, _version) as newest_replicated_at,
            argMax(_deleted, _version) as newest_deleted
        from {{ source('ops', table) }}
        where id in ({{ changed_rows(table) }})
        group by id
    ) as raw_newest
    left join (
        select {{ key }} as id, _replicated_at
        from {{ this }}
        where {{ key }} in ({{ changed_rows(table) }})
        {%- if parent != key %}
          and {{ parents_of(table, parent, changed_rows(table)) }}
        {%- endif %}
    ) as staged on raw_newest.id = staged.id
    where if(staged.id is null,
             raw_newest.newest_deleted = 0,
             raw_newest.newest_deleted = 1 or staged._replicated_at != raw_newest.newest_replicated_at)
{%- endmacro %}

{#- Claims touched by any raw change since the previous build (ids of deleted rows included); with
    `money=false`, not counting payments and adjustments posted on a claim. -#}
{% macro changed_claim_ids(money=true) -%}
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
    {%- if money %}
    {{ changed_values('payments', 'claim_id') }}
    union distinct
    {{ changed_values('adjustments', 'claim_id') }}
    union distinct
    {%- endif %}
    -- a claim's date of service is its encounter's
    select id from {{ source('ops', 'claims') }}
    where encounter_id in ({{ changed_rows('encounters') }})
{%- endmacro %}

{#- Encounters whose summary a change can alter: lines, claims (payer, live claim), and every
    encounter of a patient whose coverage changed. -#}
{% macro changed_encounter_ids() -%}
    {{ changed_rows('encounters') }}
    union distinct
    {{ changed_rows('encounter_lines', 'encounter_id') }}
    union distinct
    {{ changed_rows('claims', 'encounter_id') }}
    union distinct
    select encounter_id from {{ ref('stg_ops__encounters') }}
    where patient_id in ({{ changed_rows('coverages', 'patient_id') }})
{%- endmacro %}

{#- Appointments a change can alter: their own rows, status moves and visits, and the appointment a
    reschedule came from (its `was_rescheduled`), as any version names it. -#}
{% macro changed_appointment_ids() -%}
    {{ changed_rows('appointments') }}
    union distinct
    {{ changed_values('appointments', 'rescheduled_from_id') }}
    union distinct
    {{ changed_rows('appointment_status_events', 'appointment_id') }}
    union distinct
    {{ changed_values('encounters', 'appointment_id') }}
{%- endmacro %}

{#- Payments a change can alter: their own rows, and those on a changed claim (provider, date of
    service). -#}
{% macro changed_payment_ids() -%}
    {{ changed_rows('payments') }}
    union distinct
    select payment_id from {{ ref('stg_ops__payments') }}
    where claim_id in ({{ changed_claim_ids() }})
{%- endmacro %}

{#- Patients whose receivables a change can alter (the A/R step function is per patient × side, so
    recomputing a patient's rows whole is exact): any version's patient of changed encounters,
    payments, adjustments and coverages, and the patients of changed encounter lines and claims
    (remittances, status moves, money on a claim). -#}
{% macro changed_ar_patient_ids() -%}
    {{ changed_rows('encounters', 'patient_id') }}
    union distinct
    {{ changed_rows('payments', 'patient_id') }}
    union distinct
    {{ changed_rows('adjustments', 'patient_id') }}
    union distinct
    {{ changed_rows('coverages', 'patient_id') }}
    union distinct
    select patient_id from {{ source('ops', 'encounters') }}
    where id in (
        {{ changed_rows('encounter_lines', 'encounter_id') }}
        union distinct
        select encounter_id from {{ source('ops', 'claims') }} where id in ({{ changed_claim_ids() }})
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
            -- a coverage change can turn the patient's visits self-pay or insured from its effective date
            -- (a new patient's coverage, effective long before their first visit, changes no history)
            select toDate(encounters.date_of_service)
            from {{ source('ops', 'encounters') }} as encounters
            inner join ({{ changed_rows('coverages', 'patient_id, effective_from') }}) as coverages
                on encounters.patient_id = coverages.patient_id
            where encounters.date_of_service >= coverages.effective_from
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

{#- Months (partitions) a fact recomputes: those its changed keys are in now (in `current_cte`) and
    were in at the last build (in this table; a moved or deleted row must leave its old month). -#}
{% macro affected_months(current_cte, key, month_expression) -%}
    select {{ month_expression }} as month
    from {{ current_cte }}
    where {{ keyed_by(key) }}
    union distinct
    select {{ month_expression }} as month
    from {{ this }}
    where {{ keyed_by(key) }}
{%- endmacro %}

{#- Post-hook of the entity-grain facts. REPLACE PARTITION only swaps in months the recomputed data
    has rows in, so a month a move or a delete emptied keeps its old rows: such a month holds changed
    keys but no row of this run. It is dropped whole, a metadata operation (no mutation). -#}
{% macro drop_emptied_partitions(key, month_expression) -%}
    {{ drop_partitions_not_rebuilt(month_expression, changed_keys_relation(), keyed_by(key)) }}
{%- endmacro %}

{#- Drops the months holding rows `staged_filter` names whose rows are older than this run's
    watermark (not rebuilt: the run had no row for them), then the staged table. Compared with this
    run's own watermark, not the table's newest: a run that inserted nothing must still drop. -#}
{% macro drop_partitions_not_rebuilt(month_expression, staged_table, staged_filter) -%}
    {%- set emptied -%}
        select month
        from (
            select {{ month_expression }} as month, max(_source_watermark) as watermark
            from {{ this }}
            where {{ staged_filter }}
            group by month
        )
        where watermark < {{ reflected_through() }}
    {%- endset -%}
    {{ drop_partitions(emptied, staged_table) }}
{%- endmacro %}

{#- The tail of the month-swapping post-hooks, on incremental runs: drop the partitions `months_sql`
    lists (whole, a metadata operation), then the staged table. -#}
{% macro drop_partitions(months_sql, staged_table) -%}
    {%- if execute and is_incremental() -%}
        {%- for row in run_query(months_sql).rows -%}
            {%- do run_query('alter table ' ~ this ~ ' drop partition ' ~ row[0]) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if is_incremental() %}
    drop table if exists {{ staged_table }}
    {%- endif -%}
{%- endmacro %}

{#- Aggregate facts (a row per provider and day: no entity key) recompute months, not keys. The
    pre-hook stages once, in `<model>__changed_months`, the months `months_sql` names (the months a
    change can reach; every month of the table when reference data changed); the body reads its
    inputs for those months only (`in_changed_months()`), insert_overwrite swaps them in, and the
    post-hook `drop_emptied_months()` drops a staged month left with no row. -#}
{% macro changed_months_relation() -%}
    {{ staged_relation('__changed_months') }}
{%- endmacro %}

{#- A table built before the model was partitioned as it is now cannot take its partitions (ClickHouse:
    "Tables have different partition key"): say what to run instead. -#}
{% macro require_partition_key() -%}
    {%- set built = run_query("select partition_key from system.tables where database = '" ~ this.schema
                              ~ "' and name = '" ~ this.identifier ~ "'").rows[0][0] -%}
    {%- if built not in [config.get('partition_by'), '(' ~ config.get('partition_by') ~ ')'] -%}
        {{ exceptions.raise_compiler_error(this ~ " was built partitioned by '" ~ built ~ "', the model now by '"
            ~ config.get('partition_by') ~ "': rebuild it once with `pms dbt run --full-refresh -s "
            ~ this.identifier ~ "`") }}
    {%- endif -%}
{%- endmacro %}

{% macro in_changed_months(month_expression) -%}
    {{ month_expression }} in (select month from {{ changed_months_relation() }})
{%- endmacro %}

{% macro stage_changed_months(months_sql, day_column, reference_tables=['facilities', 'payers']) -%}
    {%- if execute and is_incremental() -%}
        {%- do require_partition_key() -%}
        {%- set staged -%}
            {{ months_sql }}
            union distinct
            select distinct toYYYYMM({{ day_column }}) from {{ this }} where {{ reference_data_changed(reference_tables) }}
        {%- endset -%}
        {%- do stage_rows('__changed_months', '(month UInt32) engine = MergeTree order by month', staged) -%}
        {%- do require_built_columns() -%}
    {%- else -%}
        {%- do drop_left_over('__changed_months') -%}
    {%- endif -%}
{%- endmacro %}

{% macro drop_emptied_months(month_expression) -%}
    {{ drop_partitions_not_rebuilt(month_expression, changed_months_relation(), in_changed_months(month_expression)) }}
{%- endmacro %}

{#- The months of UTC timestamps' facility-local days (any timezone is within a day of UTC). -#}
{% macro months_around(timestamp) -%}
    arrayJoin([toYYYYMM(toDate({{ timestamp }}) - 1), toYYYYMM(toDate({{ timestamp }}) + 1)])
{%- endmacro %}

{#- The months of fct_provider_productivity a change can reach: every version's date (old and new) of
    the appointments, visits and payments a change can alter there (a visit's wRVUs and charges are
    its lines'; a payment's provider is its claim's, so payments on changed claims and on claims of
    changed visits); the days whose availability differs from what the table holds (the availability
    model is rebuilt whole: any schedule, time off or bounds change); and the months between the
    table's last day and "today" (days entering or leaving the window). -#}
{% macro changed_productivity_months() -%}
    select {{ months_around('starts_at') }} from {{ source('ops', 'appointments') }}
    where id in ({{ changed_appointment_ids() }})
    union distinct
    select toYYYYMM(date_of_service) from {{ source('ops', 'encounters') }}
    where id in ({{ changed_rows('encounters') }})
       or id in ({{ changed_rows('encounter_lines', 'encounter_id') }})
    union distinct
    select {{ months_around('received_at') }} from {{ source('ops', 'payments') }}
    where id in ({{ changed_rows('payments') }})
       or claim_id in (
           {{ changed_rows('claims') }}
           union distinct
           select id from {{ source('ops', 'claims') }} where encounter_id in ({{ changed_rows('encounters') }})
       )
    union distinct
    select toYYYYMM(date)
    from (
        select provider_id, date, sum(scheduled_minutes) as scheduled, sum(time_off_minutes) as time_off, 1 as side
        from {{ ref('int_provider_availability_daily') }}
        where date <= {{ as_of_date() }}
        group by provider_id, date
        union all
        select provider_id, date, scheduled_minutes, time_off_minutes, -1
        from {{ this }}
        where scheduled_minutes > 0
    )
    group by provider_id, date, scheduled, time_off
    having sum(side) != 0
    union distinct
    {{ months_spanning('(select max(date) from ' ~ this ~ ')', as_of_date()) }}
{%- endmacro %}

{#- The months from the earlier of two days to the later (both included); none for equal days with
    `only_if_apart`. -#}
{% macro months_spanning(day_a, day_b, only_if_apart=false) -%}
    select toYYYYMM(addMonths(toStartOfMonth(least(day_a, day_b)), toInt32(number)))
    from (select {{ day_a }} as day_a, {{ day_b }} as day_b)
    array join range(toUInt32(dateDiff('month', toStartOfMonth(least(day_a, day_b)),
                                       toStartOfMonth(greatest(day_a, day_b))) + 1)) as number
    {%- if only_if_apart %}
    where day_a != day_b
    {%- endif %}
{%- endmacro %}

{#- The first day of activity, where fct_kpi_daily's calendar starts: the first visit, appointment
    (not a future one) or payment. -#}
{% macro kpi_first_day() -%}
    assumeNotNull(least(
        coalesce((select minOrNull(date_of_service) from {{ ref('int_encounters_summarized') }}), {{ as_of_date() }}),
        coalesce((select minOrNull(start_date) from {{ ref('int_appointment_outcomes') }}
                  where start_date <= {{ as_of_date() }}), {{ as_of_date() }}),
        coalesce((select minOrNull(received_date) from {{ ref('fct_payments') }}), {{ as_of_date() }})
    ))
{%- endmacro %}

{#- The months of fct_kpi_daily a change can reach. Each of its inputs is dated, so: every version's
    date of the visits, claims (date of service, submission, payer answers: money posted on a claim
    moves none of the claim columns it reads), payments and appointments a change can alter; for the
    A/R snapshots, every month from the first day a change can move a balance (ar_first_changed_day())
    through today; the months between the table's last day and today (days entering or leaving the
    window); and, when the first day of activity moved, the months between where the calendar started
    and where it starts now. A changed claim's status moves and remittances are read from staging, sorted
    by claim (those unchanged are as they were at the last build), and the changed ones' every version
    from raw by id: both use a primary index. -#}
{% macro changed_kpi_months() -%}
    {%- set claims = changed_claim_ids(money=false) -%}
    select toYYYYMM(date_of_service) from {{ source('ops', 'encounters') }}
    where id in ({{ changed_encounter_ids() }})
       or id in (select encounter_id from {{ source('ops', 'claims') }} where id in ({{ claims }}))
    union distinct
    select {{ months_around('submitted_at') }} from {{ source('ops', 'claims') }}
    where id in ({{ claims }}) and submitted_at is not null
    union distinct
    {%- for table, day in [('claim_status_events', 'occurred_at'), ('remittances', 'received_at')] %}
    select {{ months_around(day) }}
    from (
        select {{ day }} from {{ source('ops', table) }} where id in ({{ changed_rows(table) }})
        union all
        select {{ day }} from {{ ref('stg_ops__' ~ table) }} where claim_id in ({{ claims }})
    )
    union distinct
    {%- endfor %}
    -- a payment's day, facility and amount are its own
    select {{ months_around('received_at') }} from {{ source('ops', 'payments') }}
    where id in ({{ changed_rows('payments') }})
    union distinct
    select {{ months_around('starts_at') }} from {{ source('ops', 'appointments') }}
    where id in ({{ changed_appointment_ids() }})
    union distinct
    {{ months_spanning('coalesce(' ~ ar_first_changed_day() ~ ', ' ~ as_of_date() ~ ')', as_of_date()) }}
    union distinct
    {{ months_spanning('(select max(date) from ' ~ this ~ ')', as_of_date()) }}
    union distinct
    {{ months_spanning('(select min(date) from ' ~ this ~ ')', kpi_first_day(), only_if_apart=true) }}
{%- endmacro %}

{#- Post-hook of fct_kpi_daily: its calendar runs from the first day of activity to today, so a staged
    month outside that range has no row now; it is dropped whole (REPLACE PARTITION swaps in only
    months with rows). The model has no `_source_watermark` (its columns are KPIS.md's contract), so
    the range, not the watermark, tells which months were not rebuilt. -#}
{% macro drop_months_outside_calendar() -%}
    {%- set outside -%}
        select month from {{ changed_months_relation() }}
        where (month < toYYYYMM({{ kpi_first_day() }}) or month > toYYYYMM({{ as_of_date() }}))
          and month in (select distinct toYYYYMM(date) from {{ this }})
    {%- endset -%}
    {{ drop_partitions(outside, changed_months_relation()) }}
{%- endmacro %}
