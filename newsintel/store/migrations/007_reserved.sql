-- 007: reserved for another branch (mail branch placeholder; the lead replaces it at merge).
SELECT 1;
