-- wrk script for the PUT runs: sends the bytes of the file $AS_BODY as the body
-- of every request, to the URL given on the command line (a presigned PUT URL
-- for artifact-store, a WebDAV location for nginx).
--
-- With AS_UNIQUE=1 the first 16 bytes of each body are replaced by a per-request
-- counter (hex, starting at $AS_SEED), so that no two requests of a run send the
-- same bytes: artifact-store then stores a new first chunk every time (the whole
-- object for 4 KiB) instead of deduplicating it. Without it, the same bytes go
-- out each time (wrk builds the request once).
local f = assert(io.open(assert(os.getenv("AS_BODY"), "AS_BODY not set"), "rb"))
local body = f:read("*a")
f:close()

wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/octet-stream"

if os.getenv("AS_UNIQUE") == "1" and #body > 16 then
  local tail = body:sub(17)
  local n = tonumber(os.getenv("AS_SEED") or "0")
  request = function()
    n = n + 1
    return wrk.format(nil, nil, nil, string.format("%016x", n) .. tail)
  end
else
  wrk.body = body
end
