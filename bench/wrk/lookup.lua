-- GET $PREFIX{code} (default /v1/codes/), cycling through the codes in $CODES
-- (one per line): lookups, or with PREFIX=/c/ the consumer page. Each of
-- wrk's threads takes its own share of the codes (thread k of n: lines k,
-- k + n, ...; n from $THREADS, default 2), so no code is requested twice
-- before the list runs out.
local threads = tonumber(os.getenv("THREADS") or "2")
local next_id = 0
function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
end

local codes = {}
for line in io.lines(os.getenv("CODES")) do
    codes[#codes + 1] = line
end
local prefix = os.getenv("PREFIX") or "/v1/codes/"
local i = nil
request = function()
    if i == nil then
        i = (id or 0) % threads
    end
    i = (i + threads) % #codes
    return wrk.format("GET", prefix .. codes[i + 1])
end
