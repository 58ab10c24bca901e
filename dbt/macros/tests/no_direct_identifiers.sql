{#- HIPAA direct identifiers never reach this model: fails (one row per offending column) if a
    column is named like a name, date of birth, contact detail, address or record number. -#}
{% test no_direct_identifiers(model) %}
    {%- set forbidden = ['first_name', 'last_name', 'full_name', 'patient_name', 'date_of_birth', 'dob',
                         'birth_date', 'phone', 'email', 'address', 'address_json', 'mrn', 'ssn',
                         'member_id', 'group_number'] -%}
    select name as offending_column
    from system.columns
    where database = '{{ model.schema }}'
      and table = '{{ model.identifier }}'
      and lower(name) in ({% for column in forbidden %}'{{ column }}'{% if not loop.last %}, {% endif %}{% endfor %})
{% endtest %}
