-- The PostgreSQL store's statements of the background jobs' shared state: one job_states row
-- per job (its lease, pause and last run) and the job_runs an operator requested.

-- name: start_job
-- $1 job, $2 holder, $3 now, $4 interval, $5 lease. One statement: the first use creates the
-- row already started; otherwise the row is updated only when the run may start (due,
-- requested, or abandoned by a holder whose lease ran out). The new holder adopts the job's
-- requested runs: queued ones, and running ones of a holder that lost the lease.
WITH started AS (INSERT INTO job_states AS j (job, holder, lease_until, last_started_at,
    next_run_at)
  VALUES ($1, $2, $3::bigint + $5::bigint, $3, $3::bigint + $4::bigint)
  ON CONFLICT (job) DO UPDATE SET holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until,
      last_started_at = EXCLUDED.last_started_at, next_run_at = EXCLUDED.next_run_at,
      run_requested = false, progress = ''
  WHERE NOT j.paused AND (j.holder = '' OR j.lease_until <= $3) AND (j.next_run_at <= $3 OR j.run_requested OR j.holder <> '')
  RETURNING job),
adopted AS (UPDATE job_runs r SET status = 'running', holder = $2, started_at = $3, progress = ''
  WHERE r.job = $1 AND r.status IN ('queued', 'running') AND EXISTS (SELECT 1 FROM started))
SELECT job
FROM started

-- name: finish_job
-- $1 job, $2 holder, $3 now, $4 ok, $5 result. The runs it adopted get the result; runs
-- requested meanwhile keep the job requested (they may have been queued after this
-- statement's snapshot was taken: finish re-checks them).
WITH finished AS (UPDATE job_states SET holder = '', lease_until = 0, last_finished_at = $3,
    last_ok = $4, last_result = $5, progress = '',
    run_requested = run_requested OR EXISTS (SELECT 1 FROM job_runs WHERE job = $1 AND status = 'queued')
  WHERE job = $1 AND holder = $2
  RETURNING job),
runs AS (UPDATE job_runs SET status = 'finished', finished_at = $3, ok = $4, result = $5,
    progress = ''
  WHERE job = $1 AND holder = $2 AND status = 'running' AND EXISTS (SELECT 1 FROM finished))
SELECT job
FROM finished

-- name: renew_job
-- $1 job, $2 holder, $3 lease until, $4 progress.
WITH renewed AS (UPDATE job_states SET lease_until = $3, progress = $4
  WHERE job = $1 AND holder = $2 AND holder <> ''
  RETURNING job),
runs AS (UPDATE job_runs SET progress = $4
  WHERE job = $1 AND holder = $2 AND status = 'running' AND EXISTS (SELECT 1 FROM renewed))
SELECT job
FROM renewed

-- name: job_run
SELECT id, job, status, requested_at, started_at, finished_at, holder, progress, ok, result
FROM job_runs
WHERE job = $1 AND id = $2

-- name: pause_job
INSERT INTO job_states (job, paused)
VALUES ($1, $2)
ON CONFLICT (job) DO UPDATE SET paused = EXCLUDED.paused

-- name: request_job
-- $1 job, $2 now, $3 runs kept. Records the request and the queued run, forgets the job's
-- oldest finished runs beyond $3. Result: the run's id.
WITH requested AS (INSERT INTO job_states (job, run_requested)
  VALUES ($1, true)
  ON CONFLICT (job) DO UPDATE SET run_requested = true
  RETURNING job),
run AS (INSERT INTO job_runs (job, status, requested_at)
  VALUES ($1, 'queued', $2)
  RETURNING id),
pruned AS (DELETE FROM job_runs
  WHERE job = $1 AND status = 'finished' AND id NOT IN (SELECT id FROM job_runs WHERE job = $1 ORDER BY id DESC LIMIT $3::int - 1))
SELECT id
FROM run, requested

-- name: job_states
SELECT job, paused, run_requested, holder, lease_until, next_run_at, last_started_at,
    last_finished_at, last_result, last_ok, progress
FROM job_states
ORDER BY job
