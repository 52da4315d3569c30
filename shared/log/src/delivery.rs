//! Gateway delivery streams: how the push worker hands messages and kicks to a gateway.
