//! OpenIM wire formats: prost messages from our own .proto files, the gob codec for the WS
//! `Req`/`Resp` structs, JSON frames, gzip, and the REST envelope. (Filled in by its owner.)
