-- GET $PREFIX{code} (default /v1/codes/), cycling through the codes in $CODES
-- (one per line): lookups, or with PREFIX=/c/ the consumer page.
local codes = {}
for line in io.lines(os.getenv("CODES")) do
    codes[#codes + 1] = line
end
local prefix = os.getenv("PREFIX") or "/v1/codes/"
local i = 0
request = function()
    i = i % #codes + 1
    return wrk.format("GET", prefix .. codes[i])
end
