{#- A stable pseudonym for a person: the salted SHA-256 of the normalised email. The salt
    comes from the secret setting PII_SALT (in production the runner sets it from its secret
    store); without the salt the key cannot be recomputed from a list of emails. The dev
    default only keeps local runs working and must never be used on real data. -#}
{% macro pseudonymous_key(email_column) -%}
    encode(
        sha256(convert_to('{{ env_var("PII_SALT", "moovitamix-local-dev-salt") }}' || lower(trim({{ email_column }})), 'UTF8')),
        'hex'
    )
{%- endmacro %}
