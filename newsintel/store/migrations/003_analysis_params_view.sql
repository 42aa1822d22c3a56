-- 003: v_analysis_results gains params (JSON: transforms, windows, change-point dates,
-- event dates, VAR order), so SQL users can read the details of every statistic, e.g.
-- params->>'date' of a changepoint row. Same columns as before, params appended.

CREATE OR REPLACE VIEW v_analysis_results AS
SELECT run_id, created_at, x, y, freq, test, direction, lag, n_obs, statistic,
       p_value, p_adj, effect, ci_low, ci_high, window_start, window_end, warnings,
       params
FROM analysis_results;
