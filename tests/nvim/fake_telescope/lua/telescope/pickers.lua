-- FAKE telescope.pickers (see fake_telescope/lua/telescope/init.lua).
-- pickers.new(opts, spec):find() records { opts, spec, prompt_bufnr,
-- mappings } in _G.fake_telescope.pickers and, as the real find() does, calls
-- spec.attach_mappings(prompt_bufnr, map). `map(mode, lhs, fn)` records fn
-- under mappings[mode][lhs]. The picker's `manager:iter()` yields the
-- entries in `held` (set by the test: what the prompt narrowed the list to).
require("telescope")

local pickers = {}

function pickers.new(opts, spec)
  local picker = { opts = opts, spec = spec, mappings = { i = {}, n = {} }, held = {}, found = false }
  picker.manager = {
    iter = function()
      local i = 0
      return function()
        i = i + 1
        return picker.held[i]
      end
    end,
  }
  function picker.find(self)
    self.prompt_bufnr = vim.api.nvim_create_buf(false, true)
    self.found = true
    table.insert(_G.fake_telescope.pickers, self)
    if self.spec.attach_mappings then
      local keep = self.spec.attach_mappings(self.prompt_bufnr, function(mode, lhs, fn)
        self.mappings[mode][lhs] = fn
      end)
      assert(keep ~= nil, "attach_mappings must return a value")
    end
  end
  return picker
end

--- The recorded picker whose prompt buffer is `bufnr`.
function pickers._by_prompt(bufnr)
  for _, p in ipairs(_G.fake_telescope.pickers) do
    if p.prompt_bufnr == bufnr then
      return p
    end
  end
  return nil
end

return pickers
