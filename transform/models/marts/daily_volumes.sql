-- Rows per entity per load day, for monitoring: the volume of each daily load, split into
-- new / updated / conflicting, and the entity's size after that load. Computed from the
-- snapshots, which remember every load (raw only holds the latest version of a record).
-- Every entity gets a row on every load day, with zeros when it did not change, so that
-- day-to-day comparisons never miss a day.
with volumes as (
    {{ load_volumes(ref('tracks_snapshot'), 'tracks', 'track_id') }}
    union all
    {{ load_volumes(ref('users_snapshot'), 'users', 'user_id') }}
    union all
    {{ load_volumes(ref('listen_history_snapshot'), 'listen_history', 'user_id') }}
),

load_days as (
    select distinct load_date from volumes
),

entities as (
    select distinct entity from volumes
),

days_by_entity as (
    select
        load_days.load_date,
        entities.entity,
        coalesce(volumes.new_count, 0) as new_count,
        coalesce(volumes.updated_count, 0) as updated_count,
        coalesce(volumes.conflicting_count, 0) as conflicting_count
    from load_days
    cross join entities
    left join volumes
        on volumes.load_date = load_days.load_date
       and volumes.entity = entities.entity
)

select
    load_date::date as load_date,
    entity::text as entity,
    -- Ids are never removed (a redrawn id replaces its identity): the size is the
    -- running total of new ids.
    sum(new_count) over (partition by entity order by load_date)::bigint as row_count,
    new_count::bigint as new_count,
    updated_count::bigint as updated_count,
    conflicting_count::bigint as conflicting_count
from days_by_entity
