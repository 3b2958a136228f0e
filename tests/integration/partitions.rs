//! Partitioned targets, --create-table and the plan command.
