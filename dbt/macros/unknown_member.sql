{#- Key of the "none" member (no payer: self-pay; no provider: unapplied patient money). ClickHouse
    sorting keys cannot be Nullable, so facts carry this key and the dims hold a matching row. -#}
{% macro unknown_key() -%}
    toUUID('00000000-0000-0000-0000-000000000000')
{%- endmacro %}
