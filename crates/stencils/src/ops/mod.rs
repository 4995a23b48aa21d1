//! The stencils, grouped by instruction family. Each follows the CPython 3.13
//! micro-op of the same name (`Python/bytecodes.c`); where jitsaw needs a
//! micro-op CPython lacks (exit stubs, unconditional jumps, the eval-breaker
//! check of whole-function code), its doc comment says what it does.

mod attr;
mod binary;
mod build;
mod call;
mod control;
mod exc;
mod gen;
mod iter;
mod locals;
mod names;
mod raw;
mod subscr;
