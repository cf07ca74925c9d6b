-- post.lua — wrk script: one POST with a JSON body, repeated (OFREP evaluations).
-- Env: SY_TOKEN (bearer token), SY_POST_BODY (the body, default an empty context).
local token = os.getenv("SY_TOKEN") or "bench-admin-token"
wrk.method = "POST"
wrk.body = os.getenv("SY_POST_BODY") or '{"context":{}}'
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
