{#- Money is Decimal(18, 2) end to end: sum() of Decimal(18, 2) widens to Decimal(38, 2), so marts
    cast aggregates back. Never Float. -#}
{% macro money(expression) -%}
    cast({{ expression }} as Decimal(18, 2))
{%- endmacro %}

{% macro zero_money() -%}
    toDecimal64(0, 2)
{%- endmacro %}
