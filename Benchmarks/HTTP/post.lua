-- wrk: POST a fixed JSON body with the API key.
--   wrk -s post.lua <url> -- <key> <body file>
local key, file = ...
function init(args)
  key = args[1]
  local handle = io.open(args[2], "r")
  wrk.body = handle:read("*a")
  handle:close()
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. key
  wrk.headers["Content-Type"] = "application/json"
end
