{#- The live state of a replicated table: the latest version of each id, deletes dropped.

    raw.* is ReplacingMergeTree(_version, _deleted) ORDER BY id, so FINAL collapses re-deliveries
    and old versions at read time (before background merges have run) and drops ids whose latest
    version is a delete; the explicit `_deleted = 0` keeps this correct on an engine without the
    is_deleted column. Never aggregate raw rows without it (warehouse/replication/__init__.py). -#}
{% macro latest_versions(source_relation) -%}
    select *
    from {{ source_relation }} final
    where _deleted = 0
{%- endmacro %}
