"""rchelpers.simulator: an embedded RingCentral platform (OAuth + webhook subscriptions) on loopback."""
