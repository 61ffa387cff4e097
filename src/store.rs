//! PLACEHOLDER: the run store; filled in by the store work.
