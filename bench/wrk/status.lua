-- POST /v1/status: each request revokes another serial (so each is a real
-- write: a new row, a new snapshot sequence, an audit line). $TOKEN, $KID.
local token, kid = os.getenv("TOKEN"), os.getenv("KID")
local n = 0
local thread_id = 0
local threads = 0
setup = function(thread)
    thread:set("thread_id", threads)
    threads = threads + 1
end
request = function()
    n = n + 1
    local serial = thread_id * 1000000000 + n
    local body = string.format(
        '{"action":"revoke","reason":"stolen","kid":"%s","serial":%d}', kid, serial)
    return wrk.format("POST", "/v1/status", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
    }, body)
end
