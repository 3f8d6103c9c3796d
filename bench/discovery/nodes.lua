-- nodes.lua -- wrk script: POST a DiscoveryRequest whose node.id changes on
-- every request, cycling through COUNT distinct ids, so the server's
-- per-node bookkeeping (its proxy registry) is on the path.
--
--   wrk -s nodes.lua URL -- BODY_FILE COUNT
--
-- BODY_FILE holds the request with the placeholder @ID@ where the node id
-- goes.  Ids are "envoy-<n>"; each wrk thread starts at a different offset.

local head, tail, count, n

function init(args)
   local f = assert(io.open(args[1], "rb"))
   local body = f:read("*a")
   f:close()
   local at = assert(string.find(body, "@ID@", 1, true), "no @ID@ in body")
   head = string.sub(body, 1, at - 1)
   tail = string.sub(body, at + 4)
   count = tonumber(args[2] or "100000")
   n = math.random(0, count - 1)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   n = (n + 1) % count
   return wrk.format(nil, nil, nil, head .. "envoy-" .. n .. tail)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRKRESULT requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
      e.status, e.timeout, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max))
end
