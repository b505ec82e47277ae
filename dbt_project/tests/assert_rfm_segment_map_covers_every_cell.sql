-- Every (r_score, f_score) cell of the 5 x 5 grid belongs to exactly one
-- segment of seed rfm_segment_map: no customer is left without a segment
-- and none could get two.
with

cells as (

    select
        r_scores.r_score,
        f_scores.f_score
    from generate_series(1, 5) as r_scores (r_score)
    cross join generate_series(1, 5) as f_scores (f_score)

),

matches as (

    select
        cells.r_score,
        cells.f_score,
        count(segment_map.segment) as segments
    from cells
    left join {{ ref('rfm_segment_map') }} as segment_map
        on
            cells.r_score
            between segment_map.r_score_min and segment_map.r_score_max
            and cells.f_score
            between segment_map.f_score_min and segment_map.f_score_max
    group by cells.r_score, cells.f_score

)

select *
from matches
where segments <> 1
