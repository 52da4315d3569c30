//! Presence: which gateway holds which connection of which user, with gateway liveness.
