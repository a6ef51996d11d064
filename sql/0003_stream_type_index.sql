-- Reading one kind of stream without scanning the log: reference data is loaded at start-up this way. Partial, so
-- appends of other streams do not maintain it.
CREATE INDEX events_reference_position ON events (position) WHERE stream_type = 'reference';
