//! Dimension tables that transforms query by key (`--lookup NAME=csv:PATH`).
