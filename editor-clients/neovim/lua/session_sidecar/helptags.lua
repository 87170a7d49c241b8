--- Makes `:help session_sidecar` work however the plugin was installed.
---
--- Plugin managers run `:helptags` on a plugin's top `doc/` folder only
--- (lazy.nvim on install and update, packer likewise); this plugin lives in
--- the `editor-clients/neovim` subfolder of its repository, so its help has
--- no tags file. When the plugin's own `doc/tags` is missing or older than
--- the help file, setup() copies the help file into a folder of Neovim's data
--- directory, runs `:helptags` there and puts that folder on 'runtimepath'.
--- The plugin's folder is never written to (it may be read-only or managed
--- by git).
local M = {}

--- The folder whose doc/tags answer `:help session_sidecar` (set by ensure()).
--- @type string|nil
M.where = nil

--- The help file's name.
M.file = "session_sidecar.txt"

--- The plugin's folder (the one holding lua/, doc/, syntax/).
--- @return string
function M.plugin_dir()
  local source = debug.getinfo(1, "S").source:sub(2)
  return vim.fn.fnamemodify(source, ":p:h:h:h")
end

--- The folder put on 'runtimepath' for generated tags.
--- @return string
function M.generated_dir()
  return vim.fs.joinpath(vim.fn.stdpath("data"), "session_sidecar", "help")
end

local function mtime(path)
  local stat = vim.uv.fs_stat(path)
  return stat and (stat.mtime.sec + stat.mtime.nsec / 1e9) or nil
end

--- True when `dir`/doc/tags exists and is not older than `source`.
local function fresh(dir, source)
  local tags, src = mtime(dir .. "/doc/tags"), mtime(source)
  return tags ~= nil and src ~= nil and tags >= src
end

--- Make sure `:help session_sidecar` finds the plugin's help; returns the
--- folder whose doc/tags does (nil when the help file is missing or no
--- writable place was found: `:checkhealth session_sidecar` says so).
--- @return string|nil
function M.ensure()
  local plugin = M.plugin_dir()
  local source = vim.fs.joinpath(plugin, "doc", M.file)
  if not vim.uv.fs_stat(source) then
    M.where = nil
    return nil
  end
  if fresh(plugin, source) then
    M.where = plugin
    return plugin
  end
  local dir = M.generated_dir()
  local copy = vim.fs.joinpath(dir, "doc", M.file)
  if not (fresh(dir, source) and (mtime(copy) or 0) >= mtime(source)) then
    local ok = pcall(function()
      vim.fn.mkdir(vim.fs.joinpath(dir, "doc"), "p")
      assert(vim.uv.fs_copyfile(source, copy))
      vim.cmd("helptags " .. vim.fn.fnameescape(vim.fs.joinpath(dir, "doc")))
    end)
    if not ok then
      M.where = nil
      return nil
    end
  end
  if not vim.tbl_contains(vim.api.nvim_list_runtime_paths(), dir) then
    vim.opt.runtimepath:append(dir)
  end
  M.where = dir
  return dir
end

return M
