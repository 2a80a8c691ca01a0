-- The SQLite store's statements of the background jobs' shared state: one job_state row per
-- job (its lease, pause and last run) and the job_runs an operator requested.

-- name: ensure_job
-- Job state. ?1 job, ?2 now.
INSERT INTO job_state (job, updated_at)
VALUES (?1, ?2)
ON CONFLICT (job) DO NOTHING

-- name: start_job
-- ?1 job, ?2 holder, ?3 now, ?4 lease until, ?5 next run at. The whole precondition (not
-- paused, no live lease of another, due, requested or abandoned by a holder whose lease ran
-- out) is in the WHERE clause.
UPDATE job_state SET holder = ?2, lease_until = ?4, last_started_at = ?3, next_run_at = ?5,
    run_requested = 0, progress = '', updated_at = ?3
WHERE job = ?1 AND paused = 0 AND (holder = '' OR lease_until <= ?3) AND (next_run_at <= ?3 OR run_requested <> 0 OR holder <> '')

-- name: adopt_runs
-- The new holder takes the job's requested runs along: queued ones, and running ones whose
-- holder lost the lease. ?1 job, ?2 holder, ?3 now.
UPDATE job_runs SET status = 'running', holder = ?2, started_at = ?3, progress = ''
WHERE job = ?1 AND status IN ('queued', 'running')

-- name: renew_job
-- ?1 job, ?2 holder, ?3 now, ?4 lease until, ?5 progress.
UPDATE job_state SET lease_until = ?4, progress = ?5, updated_at = ?3
WHERE job = ?1 AND holder = ?2

-- name: run_progress
-- ?1 job, ?2 holder, ?3 progress.
UPDATE job_runs SET progress = ?3
WHERE job = ?1 AND holder = ?2 AND status = 'running'

-- name: finish_job
-- ?1 job, ?2 holder, ?3 now, ?4 ok, ?5 result.
UPDATE job_state SET holder = '', lease_until = 0, last_finished_at = ?3, last_ok = ?4,
    last_result = ?5, progress = '', updated_at = ?3
WHERE job = ?1 AND holder = ?2

-- name: finish_runs
-- ?1 job, ?2 holder, ?3 now, ?4 ok, ?5 result.
UPDATE job_runs SET status = 'finished', finished_at = ?3, ok = ?4, result = ?5, progress = ''
WHERE job = ?1 AND holder = ?2 AND status = 'running'

-- name: requeue_job
-- Runs requested while the finished run was going on keep the job requested. ?1 job.
UPDATE job_state SET run_requested = 1
WHERE job = ?1 AND EXISTS (SELECT 1 FROM job_runs
  WHERE job = ?1 AND status = 'queued')

-- name: insert_run
-- ?1 job, ?2 now.
INSERT INTO job_runs (job, status, requested_at)
VALUES (?1, 'queued', ?2)
RETURNING id

-- name: prune_runs
-- Keeps the newest ?2 runs of job ?1 (finished ones only are forgotten).
DELETE
FROM job_runs
WHERE job = ?1 AND status = 'finished' AND id NOT IN (SELECT id
  FROM job_runs
  WHERE job = ?1
  ORDER BY id DESC LIMIT ?2)

-- name: job_run
-- ?1 job, ?2 id.
SELECT id, job, status, requested_at, started_at, finished_at, holder, progress, ok, result
FROM job_runs
WHERE job = ?1 AND id = ?2

-- name: pause_job
INSERT INTO job_state (job, paused, updated_at)
VALUES (?1, ?3, ?2)
ON CONFLICT (job) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at

-- name: request_run
INSERT INTO job_state (job, run_requested, updated_at)
VALUES (?1, 1, ?2)
ON CONFLICT (job) DO UPDATE SET run_requested = 1, updated_at = excluded.updated_at

-- name: job_states
SELECT job, paused, run_requested, holder, lease_until, next_run_at, last_started_at,
    last_finished_at, last_result, last_ok, progress
FROM job_state
ORDER BY job
