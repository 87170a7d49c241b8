" Syntax for the Session Sidecar panel (filetype sessionsidecar).
if exists('b:current_syntax')
  finish
endif

syntax match sessionsidecarTitle /\%1l.*/
syntax match sessionsidecarHelp /^  \(<CR>\|e    end\|s    scope\|press ?\).*$/
syntax match sessionsidecarBranch /^\S.*$/
syntax match sessionsidecarActive /^  \* .*$/
syntax match sessionsidecarPinned /^  + /
syntax match sessionsidecarDrift /^  ! .*$/
syntax match sessionsidecarError /^  error:.*$/
syntax keyword sessionsidecarEnded ended archived
syntax keyword sessionsidecarIdle idle

highlight default link sessionsidecarTitle Title
highlight default link sessionsidecarHelp Comment
highlight default link sessionsidecarBranch Directory
highlight default link sessionsidecarActive Statement
highlight default link sessionsidecarPinned Special
highlight default link sessionsidecarDrift WarningMsg
highlight default link sessionsidecarError ErrorMsg
highlight default link sessionsidecarEnded Comment
highlight default link sessionsidecarIdle Comment

let b:current_syntax = 'sessionsidecar'
