{#- A stable pseudonym for a person: the salted SHA-256 of the normalised email. The salt
    is the secret PII_SALT, which reaches dbt's sessions as the setting moovitamix.pii_salt
    (PGOPTIONS, transform/transformers.meltano.yml): read by the SQL at run time, it never
    appears in compiled SQL, dbt's logs or docs. Without the salt the key cannot be
    recomputed from a list of emails. require_pii_salt() stops any build without one. -#}
{% macro pseudonymous_key(email_column) -%}
    encode(
        sha256(convert_to(current_setting('moovitamix.pii_salt') || lower(trim({{ email_column }})), 'UTF8')),
        'hex'
    )
{%- endmacro %}

{#- on-run-start (dbt_project.yml): no build without a real salt, whoever calls dbt. -#}
{% macro require_pii_salt() -%}
    do $$
    begin
        if coalesce(length(current_setting('moovitamix.pii_salt', true)), 0) < 32 then
            raise exception 'PII_SALT is missing or shorter than 32 characters: set it (the local one is in .env)';
        end if;
    end
    $$
{%- endmacro %}
