//! Dev-only: real redis-server and MongoDB-wire servers on free ports. (Filled in by its owner.)
