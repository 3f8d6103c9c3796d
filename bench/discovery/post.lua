-- post.lua -- wrk script: POST one fixed DiscoveryRequest, read from a file,
-- on every request; print the results as one machine-readable line.
--
--   wrk -s post.lua URL -- BODY_FILE
--
-- The body is set once per thread in init(), so wrk sends the same prepared
-- bytes every time (no Lua on the request path).

function init(args)
   local f = assert(io.open(args[1], "rb"))
   wrk.method = "POST"
   wrk.body = f:read("*a")
   f:close()
   wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRKRESULT requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
      e.status, e.timeout, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max))
end
