-- FAKE Telescope for tests/nvim/test_telescope.py: NOT the real telescope.nvim
-- (which is not installable here). It implements only the documented calls
-- the plugin's picker and extension use, and records what they were given in
-- _G.fake_telescope, so a test can drive the picker by hand.
_G.fake_telescope = _G.fake_telescope or { pickers = {}, closed = {}, highlighted = {} }

local telescope = {}

--- register_extension(mod) returns mod (as telescope._extensions.register does).
function telescope.register_extension(mod)
  return mod
end

--- load_extension(name): the `exports` of lua/telescope/_extensions/<name>.lua.
function telescope.load_extension(name)
  local ext = require("telescope._extensions." .. name)
  if ext.setup then
    ext.setup({}, require("telescope.config").values)
  end
  return ext.exports or {}
end

return telescope
