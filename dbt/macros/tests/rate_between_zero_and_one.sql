{#- A KPI rate numerator ÷ denominator lies in [0, 1] on every row where it is defined, i.e. the
    numerator is a non-negative subset of the denominator. -#}
{% test rate_between_zero_and_one(model, numerator, denominator) %}
    select *
    from {{ model }}
    where ({{ denominator }}) != 0
      and (({{ numerator }}) < 0 or ({{ numerator }}) > ({{ denominator }}))
{% endtest %}
