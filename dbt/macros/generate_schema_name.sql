{#- Models land in the schema their folder names (staging, intermediate, marts), not
    <target>_<custom>: the API, ml and dashboards read fixed names such as marts.fct_kpi_daily. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
