-- wrk: predict for a task type never seen on every request, so each creates
-- an experiment of 10 agents on first use; each thread stops after its share.
--   wrk -s create.lua <url> -- <key> <run label> <experiments per thread>
local threads_made = 0
local threads = {}

function setup(thread)
  threads_made = threads_made + 1
  thread:set("thread_number", threads_made)
  table.insert(threads, thread)
end

local counter = 0
local answered = 0
not_ok = 0

function init(args)
  wrk.method = "POST"
  wrk.path = "/api/learning/predict/agent-selection"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/json"
  prefix = args[2] .. "-t" .. thread_number .. "-"
  share = tonumber(args[3])
end

function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, '{"task_type":"' .. prefix .. counter ..
    '","available_agents":["a0","a1","a2","a3","a4","a5","a6","a7","a8","a9"]}')
end

function response(status)
  if status ~= 200 then not_ok = not_ok + 1 end
  answered = answered + 1
  if answered >= share then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("not_ok") end
  io.write(string.format("created: %d experiments in %.2f s = %.0f/s (p99 %.2f ms)%s\n", summary.requests,
    summary.duration / 1e6, summary.requests / (summary.duration / 1e6), latency:percentile(99) / 1000,
    failed > 0 and string.format("  NON-200: %d", failed) or ""))
end
