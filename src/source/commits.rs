//! Commit ranges: the blobs that new commits bring (pre-receive, pre-push, `nbguard diff`).
