//! SQL text: tokens and statements ([`lexer`]), one statement's class and parts
//! ([`statement`]), and the Fixed Copy command ([`fixed_copy`]).

pub mod fixed_copy;
pub mod lexer;
pub mod statement;

pub use fixed_copy::FixedCopy;
pub use statement::Statement;
