//! `magi`, the dispatcher, as a library: its command line ([`cli`]), how it finds and runs the tools
//! ([`dispatch`]), and its built-in commands ([`event`], [`logs`]). The binary wires them together.

pub mod cli;
pub mod dispatch;
pub mod event;
pub mod logs;
