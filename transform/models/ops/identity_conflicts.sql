-- Every identity of an id that was seen with more than one created_at: the client's
-- application redrew its ids (it does so at each restart). Both versions are kept in
-- raw; staging and the marts use the latest loaded one (macro latest_version).
with identities as (
    select 'tracks' as entity, id as entity_id, created_at, updated_at, _sdc_batched_at from {{ source('moovitamix', 'tracks') }}
    union all
    select 'users', id, created_at, updated_at, _sdc_batched_at from {{ source('moovitamix', 'users') }}
    union all
    select 'listen_history', user_id, created_at, updated_at, _sdc_batched_at from {{ source('moovitamix', 'listen_history') }}
),

ranked as (
    select
        *,
        count(*) over (partition by entity, entity_id) as identities,
        row_number() over (partition by entity, entity_id order by _sdc_batched_at desc, updated_at desc) as version_rank
    from identities
)

select
    entity::text as entity,
    entity_id::bigint as entity_id,
    {{ as_utc('created_at') }} as created_at,
    {{ as_utc('updated_at') }} as updated_at,
    {{ as_utc('_sdc_batched_at') }} as loaded_at,
    (version_rank = 1) as is_current
from ranked
where identities > 1
