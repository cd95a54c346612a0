"""JSON schema files for the tap's streams, one `<stream name>.json` per stream."""
