-- The taxonomy is matched on lower(trim(raw name)): its keys must already
-- be lower-case and trimmed, or they can never match.
select source_channel
from {{ ref('channel_taxonomy') }}
where source_channel <> lower(trim(source_channel))
