-- 009: a placeholder in the mail2 branch only. Number 009 belongs to the gkg branch
-- (its per-file status table); migrations must be numbered without gaps, so this empty
-- step lets 010 apply here. When merging, keep gkg's 009 and delete this file.
SELECT 1;
