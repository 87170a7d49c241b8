-- setup() without a server: every module loads, options are checked, the
-- commands exist, and bad options fail with a message naming the option.
local failures = 0
local function check(cond, what)
  if not cond then
    failures = failures + 1
    io.stderr:write("FAIL " .. what .. "\n")
  end
end

for _, name in ipairs({ "config", "state", "format", "client", "prompt", "actions", "panel", "history", "statusline", "health", "server", "helptags", "search" }) do
  local ok, err = pcall(require, "session_sidecar." .. name)
  check(ok, "require session_sidecar." .. name .. ": " .. tostring(err))
end

local sidecar = require("session_sidecar")
sidecar.setup({ autostart = false, cmd = { "definitely-not-a-sidecar-binary", "serve" } })
for _, cmd in ipairs({ "Sessions", "SessionsHistory", "SessionsFresh", "SessionsResume", "SessionsFork" }) do
  check(vim.fn.exists(":" .. cmd) == 2, "command :" .. cmd)
end
check(sidecar.statusline() == "", "statusline empty without a server")

local config = require("session_sidecar.config")
check(config.options.cmd[1] == "definitely-not-a-sidecar-binary", "cmd replaced, not merged")
check(#config.options.cmd == 2, "cmd keeps its length")
check(config.init_options(config.options).prompts == "native", "prompts default native")

local ok, err = pcall(sidecar.setup, { prompts = "loud" })
check(not ok and tostring(err):find("prompts must be native, custom or off", 1, true), "bad prompts rejected: " .. tostring(err))
ok, err = pcall(sidecar.setup, { scope = "galaxy" })
check(not ok and tostring(err):find("scope must be", 1, true), "bad scope rejected")

-- A missing server is reported, not thrown.
sidecar.setup({ autostart = false, cmd = { "definitely-not-a-sidecar-binary", "serve" } })
local got
require("session_sidecar.client").request(vim.fn.getcwd(), "sidecar/status", {}, function(e)
  got = e
end)
local said = got and tostring(got.message) or ""
check(said:find('"definitely-not-a-sidecar-binary" is not an executable program', 1, true), "missing server named: " .. said)
check(said:find("PATH searched: " .. vim.env.PATH, 1, true), "PATH named: " .. said)
check(said:find("pipx install session-sidecar", 1, true) and said:find("cmd = {", 1, true), "advice given: " .. said)

-- The health check's version command replaces `serve` with `--version`.
local health = require("session_sidecar.health")
check(vim.deep_equal(health.version_cmd({ "py", "-m", "sidecar", "serve" }), { "py", "-m", "sidecar", "--version" }), "version cmd")

if failures > 0 then
  os.exit(1)
end
print("setup_test: all checks passed")
