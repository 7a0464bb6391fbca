//! Reports read as input (not rendered output, which is `render`): DMARC aggregate reports
//! and the containers they arrive in.

pub mod aggregate;
pub mod archive;
