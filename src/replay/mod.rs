//! Replaying what a receiver saw (reports, messages) against today's or proposed DNS.

pub mod aggregate;
