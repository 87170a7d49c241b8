-- FAKE telescope.previewers (see fake_telescope/lua/telescope/init.lua):
-- new_buffer_previewer(opts) returns opts, so the test can call
-- opts.define_preview(self, entry) with its own self.state.{bufnr,winid}.
local previewers = {}

function previewers.new_buffer_previewer(opts)
  return vim.tbl_extend("force", { kind = "buffer_previewer" }, opts)
end

return previewers
