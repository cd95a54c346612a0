-- The only relation outside raw and staging with names and emails. Kept apart so that
-- access can be granted (and audited, and erased) on this schema alone.
with users as (
    select * from {{ ref('stg_users') }}
)

select
    user_id::bigint as user_id,
    first_name::text as first_name,
    last_name::text as last_name,
    email::text as email,
    created_at::timestamptz as created_at,
    updated_at::timestamptz as updated_at
from users
