// The settings catalog: see settings_catalog.hpp. Defaults here are the ones the readers use
// (core/config, jobs/job_config, provider/provider_config, store/postgres/postgres_options).
#include "core/settings_catalog.hpp"

#include <algorithm>

namespace broker {

const std::vector<SettingInfo>& settings_catalog() {
    static const std::vector<SettingInfo> table = {
        // The API and the process (core/config).
        {"BROKER_LISTEN", "127.0.0.1:8080", false, "HOST:PORT the API listens on (port 0: any free port)"},
        {"BROKER_STORE", "sqlite:data/broker.db", true,
         "store URL: sqlite:PATH (one node) or postgresql://USER:PASSWORD@HOST:PORT/DB"},
        {"BROKER_BASE_PATH", "/v1", false, "prefix of the API routes"},
        {"BROKER_URL", "", false,
         "the broker `sandbox-broker admin` talks to (default: http:// and BROKER_LISTEN's address)"},
        {"BROKER_API_TOKEN", "", true, "participant bearer token (required by run and serve)"},
        {"BROKER_ADMIN_TOKEN", "", true, "admin bearer token (required by run and serve)"},
        {"LAB_DURATION_SEC", "172800", false,
         "how long an allocation lasts (takes precedence over the hours)"},
        {"LAB_DURATION_HOURS", "48", false, "the same in hours (the original's name)"},
        {"LAB_MAX_DURATION_SEC", "", false,
         "latest a lease may be extended to, from its allocation (unset: twice the lab duration)"},
        {"GRACE_PERIOD_SEC", "1800", false,
         "time after the lab's end before auto_expiry takes a sandbox back"},
        {"GRACE_PERIOD_MINUTES", "30", false, "the same in minutes (the original's name)"},
        {"HTTP_THREADS", "2", false, "I/O threads of the HTTP server"},
        {"STORE_THREADS", "64", false, "threads doing blocking store work"},
        {"STORE_QUEUE_MAX", "4096", false, "store work waiting beyond this is answered 503"},
        {"MAX_BODY_BYTES", "65536", false, "largest request body accepted"},
        {"MAX_HEADER_BYTES", "16384", false, "largest request header block accepted"},
        {"HTTP_READ_TIMEOUT_SEC", "30", false, "time allowed to read one request"},
        {"HTTP_IDLE_TIMEOUT_SEC", "75", false, "an idle keep-alive connection is closed after this"},
        {"SHUTDOWN_DRAIN_SEC", "0", false,
         "on SIGTERM, /readyz answers 503 this long before the server stops (5 in the container image)"},
        {"NO_SANDBOXES_RETRY_AFTER_SEC", "30", false, "Retry-After sent with NO_SANDBOXES_AVAILABLE"},
        {"MAX_SANDBOXES_PER_PARTICIPANT", "1", false, "live allocations one participant may hold"},
        {"ALLOCATE_MAX_WAIT_SEC", "60", false,
         "longest wait an allocation may ask for (Prefer: wait=N, ?wait=N); 0 turns waiting off"},
        {"ALLOCATE_MAX_WAITERS", "10000", false,
         "allocations waiting at once per process; beyond it the plain 409 at once"},
        {"ALLOCATE_WAIT_POLL_MS", "1500", false,
         "while allocations wait, each queue's oldest retries this often (±25%) besides the wake-ups"},
        // The live event stream, GET /v1/admin/events (http/event_stream_options).
        {"EVENTS_KEEPALIVE_SEC", "15", false, "a comment line on a quiet event stream this often"},
        {"EVENTS_POLL_MS", "250", false,
         "while stream clients are connected, the process reads the event outbox this often"},
        {"EVENTS_CLIENT_QUEUE_MAX", "1000", false,
         "events waiting for one stream client at most; a client further behind is disconnected"},
        {"RATE_LIMIT_ENABLED", "true", false, "per-participant and per-address rate limit on"},
        {"RATE_LIMIT_RPS", "50", false, "requests a second per bucket (0 turns the limit off)"},
        {"RATE_LIMIT_BURST", "200", false, "bucket size of the rate limit"},
        {"LOG_LEVEL", "info", false, "trace, debug, info, warning, error or critical"},
        {"LOG_FORMAT", "json", false, "json (one object per line) or text"},
        {"CORS_ALLOWED_ORIGINS", "", false, "comma-separated origins browsers may call from, or *"},
        {"TRUSTED_PROXIES", "", false, "CIDRs whose X-Forwarded-For is believed"},
        {"METRICS_POOL_CACHE_SEC", "60", false, "how long the pool gauges are cached between scrapes"},
        {"MAX_CONNECTIONS", "4096", false, "open connections at most; one more gets 503 and is closed"},
        {"ACCESS_LOG_REFUSED_PER_SEC", "20", false,
         "access log lines a second for refused anonymous requests"},
        {"METRICS_LISTEN", "", false, "HOST:PORT of a separate /metrics listener (empty: on the API's port)"},
        {"METRICS_TOKEN", "", true, "bearer token /metrics requires (empty: none)"},
        // The read-only role and the /dashboard page (core/config, http/dashboard).
        {"BROKER_VIEWER_TOKEN", "", true,
         "read-only bearer token: every admin GET and the dashboard (empty: none)"},
        {"DASHBOARD_SESSION_SECRET", "", true,
         "key signing dashboard session cookies (empty: derived from BROKER_ADMIN_TOKEN)"},
        {"DASHBOARD_SESSION_TTL_SEC", "28800", false, "how long a dashboard sign-in lasts"},
        {"DASHBOARD_COOKIE_SECURE", "auto", false,
         "Secure on the session cookie: true, false, or auto (when a trusted proxy says https)"},
        {"DASHBOARD_TRUSTED_USER_HEADER", "", false,
         "header naming a user a trusted proxy signed in (only from TRUSTED_PROXIES; empty: none)"},
        {"DASHBOARD_TRUSTED_USER_ROLE", "viewer", false,
         "role of a user named by that header: viewer or admin"},
        // The background jobs (jobs/job_config).
        {"SYNC_INTERVAL_SEC", "600", false, "how often the pool is synced from the provider"},
        {"CLEANUP_INTERVAL_SEC", "300", false, "how often returned sandboxes are deleted at the provider"},
        {"AUTO_EXPIRY_INTERVAL_SEC", "300", false,
         "how often allocations past lab duration + grace are taken back"},
        {"AUTO_DELETE_STALE_INTERVAL_SEC", "3600", false,
         "how often sandboxes the provider stopped listing are forgotten"},
        {"STALE_GRACE_PERIOD_HOURS", "24", false,
         "how long an unlisted sandbox is kept before it is forgotten"},
        {"CLEANUP_BATCH_SIZE", "10", false, "sandboxes one cleanup batch deletes"},
        {"CLEANUP_BATCH_DELAY_SEC", "0", false,
         "least pause between two cleanup batches, a floor under the adaptive pace (fractions allowed)"},
        {"CLEANUP_PER_SANDBOX_DELAY_SEC", "0", false,
         "least pause between the starts of two deletions, a floor under the adaptive pace (fractions "
         "allowed)"},
        {"CLEANUP_MAX_CONCURRENCY", "16", false,
         "provider calls in flight at most; the adaptive limit moves between 1 and this"},
        {"DELETION_RETRY_MAX_ATTEMPTS", "5", false, "fast retries of a failed deletion before the slow pace"},
        {"DELETION_RETRY_BASE_SEC", "60", false, "first wait after a failed deletion; doubles per attempt"},
        {"DELETION_FAILED_RETRY_SEC", "3600", false, "retry pace of a deletion past its fast retries"},
        {"CLEANUP_CLAIM_LEASE_SEC", "30", false,
         "a cleanup claim outlives its worker's last heartbeat by this"},
        {"JOB_LEASE_SEC", "30", false, "a job lease outlives its worker's last heartbeat by this"},
        {"HISTORY_RETENTION_DAYS", "30", false, "sandbox history kept this long"},
        {"AUTO_EXPIRY_BATCH_SIZE", "100", false, "allocations one expiry batch takes back"},
        {"WORKER_POLL_MS", "1000", false, "how often a worker tries the job leases"},
        // The provider (provider/provider_config).
        {"CSP_BASE_URL", "", false,
         "provider API URL, e.g. https://csp.infoblox.com/v2 (sync and cleanup need it)"},
        {"CSP_API_TOKEN", "", true, "provider API token"},
        {"CSP_TIMEOUT_CONNECT_SEC", "5", false, "provider connect timeout"},
        {"CSP_TIMEOUT_READ_SEC", "30", false, "provider read timeout"},
        {"CIRCUIT_BREAKER_THRESHOLD", "5", false, "provider failures in a row that open the circuit breaker"},
        {"CIRCUIT_BREAKER_TIMEOUT_SEC", "60", false, "how long the breaker stays open before a trial call"},
        {"PROVIDER_MAX_ATTEMPTS", "3", false, "calls per provider operation, retries included"},
        {"PROVIDER_RATE_LIMIT_RPS", "5", false, "provider calls a second (0 turns the limit off)"},
        {"PROVIDER_RATE_LIMIT_BURST", "5", false, "burst of the provider rate limit (default: the rate)"},
        {"PROVIDER_BACKOFF_BASE_MS", "500", false, "ceiling of the first retry's wait"},
        {"PROVIDER_BACKOFF_CAP_MS", "30000", false, "no retry wait exceeds this"},
        {"PROVIDER_MAX_RETRY_WAIT_SEC", "60", false, "a longer Retry-After goes back to the job instead"},
        {"NIOSXAAS_ENABLED", "false", false, "remove the NIOSXaaS service before each deletion"},
        {"NIOSXAAS_BASE_URL", "", false, "NIOSXaaS API URL"},
        {"NIOSXAAS_EMAIL", "", false, "NIOSXaaS login"},
        {"NIOSXAAS_PASSWORD", "", true, "NIOSXaaS password"},
        {"NIOSXAAS_SERVICE_NAME", "Instrqt-SaaS", false, "services whose name contains this are removed"},
        {"NIOSXAAS_SHADOW_MODE", "true", false, "log what would be removed without removing it"},
        {"NIOSXAAS_TIMEOUT_SEC", "30", false, "timeout of one NIOSXaaS call"},
        // The PostgreSQL store (store/postgres/postgres_options).
        {"DB_POOL_SIZE", "16", false, "PostgreSQL connections at most per process"},
        {"DB_POOL_WAIT_MS", "2000", false, "waiting longer for a connection answers 503"},
        {"DB_STATEMENT_TIMEOUT_MS", "5000", false, "the server cancels a statement running longer"},
        {"DB_BULK_STATEMENT_TIMEOUT_MS", "120000", false,
         "the same for a whole provider list (sync, import)"},
        {"DB_CONNECT_TIMEOUT_SEC", "5", false, "opening a connection gives up after this"},
        {"DB_SCHEMA", "", false, "schema the tables live in (empty: the server's default)"},
        // The DynamoDB store (store/dynamodb/dynamo_options): the original service's names.
        {"DDB_TABLE_NAME", "SandboxPool", false,
         "DynamoDB table of the pool (set alone, without BROKER_STORE, it selects the DynamoDB store)"},
        {"DDB_GSI1_NAME", "StatusIndex", false, "index by status and allocated_at"},
        {"DDB_GSI2_NAME", "TrackIndex", false, "index by allocated_to_track and allocated_at"},
        {"DDB_GSI3_NAME", "IdempotencyIndex", false, "index by idempotency_key and allocated_at"},
        {"DDB_ENDPOINT_URL", "", false, "DynamoDB endpoint (empty: the region's AWS endpoint)"},
        {"AWS_REGION", "us-east-1", false, "region of the DynamoDB table"},
        // AWS credentials for the DynamoDB store (store/dynamodb/aws_credentials), in the order
        // the chain tries them; unset on ECS or EC2, where the task or instance role answers.
        {"AWS_ACCESS_KEY_ID", "", false, "access key id (with AWS_SECRET_ACCESS_KEY)"},
        {"AWS_SECRET_ACCESS_KEY", "", true, "secret access key"},
        {"AWS_SESSION_TOKEN", "", true, "session token of temporary keys"},
        {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "", false, "set by ECS: the task role's credentials"},
        {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "", false, "a credentials endpoint (https, or the ECS agent)"},
        {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "", true, "token sent to the FULL_URI endpoint"},
        {"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254", false, "EC2 instance metadata (IMDSv2)"},
        {"AWS_EC2_METADATA_DISABLED", "false", false, "true: never ask instance metadata"},
    };
    return table;
}

const SettingInfo* find_setting(std::string_view name) {
    const auto& table = settings_catalog();
    const auto it = std::find_if(table.begin(), table.end(), [&](const auto& s) { return s.name == name; });
    return it == table.end() ? nullptr : &*it;
}

}  // namespace broker
