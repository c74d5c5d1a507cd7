-- wrk: POST /v1/feedback with --events events per request, each with a fresh
-- event id, for decisions listed (one id per line) in a file.
--   wrk -s feedback.lua <url>/v1/feedback -- <key> <decision id file> <events per request>
local counter = 0
local thread_id = 0
local decisions = {}
local events = 1000
local key

function setup(thread)
  thread_id = thread_id + 1
  thread:set("prefix", "t" .. thread_id .. "-" .. math.random(1, 1000000000))
end

function init(args)
  key = args[1]
  for line in io.lines(args[2]) do decisions[#decisions + 1] = line end
  events = tonumber(args[3])
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. key
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local parts = {}
  for i = 1, events do
    counter = counter + 1
    parts[i] = '{"event_id":"' .. prefix .. '-' .. counter .. '","decision_id":"' ..
      decisions[(counter % #decisions) + 1] .. '","reward":' .. (counter % 2) .. '}'
  end
  return wrk.format(nil, nil, nil, '{"events":[' .. table.concat(parts, ",") .. ']}')
end

local responses_with_rejections = 0
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"rejected"', 1, true) then
    responses_with_rejections = responses_with_rejections + 1
  end
end

function done(summary, latency, requests)
  io.write(string.format("feedback: %d requests of %d events in %.2f s = %.0f events/s\n",
    summary.requests, events, summary.duration / 1e6, summary.requests * events / (summary.duration / 1e6)))
end
