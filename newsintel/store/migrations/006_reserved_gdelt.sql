-- 006 is reserved for the GDELT backfill branch (issue 11, part 2), built in parallel.
-- This placeholder only keeps the numbering gapless on the archive branch
-- (007_archive.sql); DELETE IT WHEN MERGING, in favour of the GDELT branch's 006.
SELECT 1;
