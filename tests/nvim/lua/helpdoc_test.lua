-- Checks the plugin's help file: :helptags accepts it (no duplicate tags),
-- the expected tags exist, and every |link| resolves to some help tag.
-- Run with nvim --headless -l; arg[1] is a scratch folder to copy doc/ into.
local scratch = assert(arg[1], "usage: helpdoc_test.lua <scratch dir>")
local src
for _, dir in ipairs(vim.api.nvim_list_runtime_paths()) do
  if vim.uv.fs_stat(dir .. "/doc/session_sidecar.txt") and dir:find("editor%-clients/neovim") then
    src = dir .. "/doc/session_sidecar.txt"
  end
end
assert(src, "doc/session_sidecar.txt not on the runtimepath")
vim.fn.mkdir(scratch .. "/doc", "p")
vim.fn.writefile(vim.fn.readfile(src), scratch .. "/doc/session_sidecar.txt")
vim.opt.runtimepath:prepend(scratch)

local ok, err = pcall(vim.cmd, "helptags " .. vim.fn.fnameescape(scratch .. "/doc"))
if not ok then
  io.stderr:write("helptags failed: " .. tostring(err) .. "\n")
  os.exit(1)
end

local tags = {}
for _, line in ipairs(vim.fn.readfile(scratch .. "/doc/tags")) do
  tags[vim.split(line, "\t")[1]] = true
end
local failures = 0
for _, want in ipairs({
  "session_sidecar.txt", "session_sidecar", "session_sidecar.setup()", ":Sessions",
  ":SessionsHistory", ":SessionsFresh", ":SessionsResume", ":SessionsFork",
  "session_sidecar-panel", "session_sidecar.statusline()", "session_sidecar-health",
  ":SessionsSearch", ":SessionsDecide", "session_sidecar-history", "session_sidecar-search",
  "session_sidecar-branches", "session_sidecar-errors", "session_sidecar-helptags",
  "session_sidecar-telescope",
}) do
  if not tags[want] then
    failures = failures + 1
    io.stderr:write("missing tag " .. want .. "\n")
  end
end

local text = table.concat(vim.fn.readfile(src), "\n")
for link in text:gmatch("|([^|%s\"*]+)|") do
  if not tags[link] and #vim.fn.getcompletion(link, "help") == 0 then
    failures = failures + 1
    io.stderr:write("link to unknown tag |" .. link .. "|\n")
  end
end
if failures > 0 then
  os.exit(1)
end
print("helpdoc_test: all checks passed")
