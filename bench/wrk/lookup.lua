-- GET /v1/codes/{code}, cycling through the codes in $CODES (one per line).
local codes = {}
for line in io.lines(os.getenv("CODES")) do
    codes[#codes + 1] = line
end
local i = 0
request = function()
    i = i % #codes + 1
    return wrk.format("GET", "/v1/codes/" .. codes[i])
end
